"""ECG rhythm classification on one CPU core: the whole classifier against R-peak detection alone.

    baseline    songkhoe.ecg.peaks.r_peaks on the 30-s lead at 300 Hz (band-pass and detection)
    classify    songkhoe.ecg.classifier.Classifier.classify on the Recording in memory: lead
                choice, resampling, band-pass, R-peaks, features, quality, ONNX Runtime (one
                thread), the decision
    read+class  songkhoe.ecg.service.classify_paths from the WFDB files (wfdb reading included)
Reports per-recording latency (median and 90th percentile) and the batch rate (recordings/s,
batches of 64), with the ratio to the baseline side by side. Goal: a 30-s recording classified
in <= 50 ms. The process is pinned to one core (os.sched_setaffinity) and numerical libraries
to one thread. Recordings: the first --records of the shared Challenge 2017 set (30 s ones), or
synthetic 30-s sinus strips when it is absent.

    python bench/ecg_classify.py [--data ../shared/data/ecg/cinc2017] [--records 256] [--runs 30]
"""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from songkhoe.ecg import service  # noqa: E402
from songkhoe.ecg.classifier import Classifier  # noqa: E402
from songkhoe.ecg.features import FS  # noqa: E402
from songkhoe.ecg.ingest import Recording, checked  # noqa: E402
from songkhoe.ecg.peaks import r_peaks  # noqa: E402


def timed(call, runs: int) -> list[float]:
    for _ in range(3):
        call()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return seconds


def synthetic(count: int) -> list[Recording]:
    rng = np.random.default_rng(0)
    t = np.arange(int(30 * FS)) / FS
    found = []
    for i in range(count):
        rr = 0.6 + 0.4 * rng.random()
        signal = 0.02 * rng.standard_normal(t.size)
        for beat in np.arange(0.3, 30, rr):
            signal += np.exp(-0.5 * ((t - beat) / 0.012) ** 2)
        found.append(checked(f"synthetic-{i}", signal[:, None], FS, ("I",)))
    return found


def recordings(data: Path, count: int) -> tuple[list[Recording], list[Path]]:
    if not (data / "REFERENCE.csv").is_file():
        print(f"({data} not found: synthetic 30-s strips)")
        return synthetic(count), []
    paths = []
    for line in (data / "REFERENCE.csv").read_text().split():
        path = data / "records" / f"{line.split(',')[0]}.hea"
        if f" {int(30 * FS)} " in path.read_text().splitlines()[0] + " ":
            paths.append(path)
        if len(paths) == count:
            break
    return [service.read(p) for p in paths], paths


def row(name: str, latency: list[float], rate: float, baseline: tuple[float, float]) -> None:
    median = statistics.median(latency)
    p90 = sorted(latency)[int(0.9 * (len(latency) - 1))]
    print(
        f"{name:>11} {median * 1000:>10.1f} {p90 * 1000:>8.1f} {median / baseline[0]:>9.1f}x "
        f"{rate:>12.1f} {baseline[1] / rate:>9.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data/ecg/cinc2017"))
    parser.add_argument("--records", type=int, default=256)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    recs, paths = recordings(args.data, args.records)
    classifier = Classifier()
    one = recs[0]
    lead = one.analysis_lead()
    print(f"{len(recs)} recordings of {one.seconds:.0f} s; one core; model {classifier.model.name}")

    def batch_rate(call, items: list) -> float:
        start = time.perf_counter()
        for k in range(0, len(items), 64):
            call(items[k : k + 64])
        return len(items) / (time.perf_counter() - start)

    base_latency = timed(lambda: r_peaks(lead, FS), args.runs)
    base_rate = batch_rate(lambda chunk: [r_peaks(r.analysis_lead(), FS) for r in chunk], recs)
    baseline = (statistics.median(base_latency), base_rate)
    print(f"{'':>11} {'ms median':>10} {'p90':>8} {'ratio':>10} {'records/s':>12} {'ratio':>10}")
    row("baseline", base_latency, base_rate, baseline)
    latency = timed(lambda: classifier.classify([one]), args.runs)
    row("classify", latency, batch_rate(classifier.classify, recs), baseline)
    if paths:
        latency = timed(lambda: service.classify_paths(paths[:1], classifier), args.runs)
        rate = batch_rate(lambda chunk: service.classify_paths(chunk, classifier), paths)
        row("read+class", latency, rate, baseline)
    goal = statistics.median(timed(lambda: classifier.classify([one]), args.runs)) * 1000
    print(f"goal: a 30-s recording classified in <= 50 ms: {goal:.1f} ms "
          f"({'met' if goal <= 50 else 'NOT met'})")  # fmt: skip


if __name__ == "__main__":
    main()
