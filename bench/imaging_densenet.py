"""DenseNet-121 chest X-ray inference on the CPU: ONNX Runtime against PyTorch eager, same run.

Both run the exported graph's work (TorchXRayVision's DenseNet-121, 224×224, one channel, 18
findings, random weights; logits and class activation maps, `songkhoe.imaging.networks.CamHead`)
on the same preprocessed batch with the same number of threads:
    onnxruntime  songkhoe.imaging.inference.session_for (CPUExecutionProvider), as the worker runs
    pytorch      the same module in eager mode under torch.inference_mode()
Reports per-image latency at batch 1 (median and 90th percentile) and throughput at batches 8
and 16, and the ratio ONNX / PyTorch. Goal: ONNX >= 1.5x faster at batch 1. Also times the
preprocessing of one 2,000×2,500 film (normalise, centre crop, resize to 224).

    python bench/imaging_densenet.py [--threads N] [--runs 10]
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from songkhoe.imaging.convert import export_onnx
from songkhoe.imaging.networks import CamHead, densenet121
from songkhoe.imaging.preprocess import model_input


def timed(call, runs: int) -> list[float]:
    for _ in range(3):
        call()
    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - start)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net = densenet121(18).eval()
    head = CamHead(net).eval()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "densenet121.onnx"
        export_onnx(net, 224, path)
        options = ort.SessionOptions()
        options.intra_op_num_threads = args.threads
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    rng = np.random.default_rng(0)
    film = rng.uniform(0, 4095, (2500, 2000)).astype(np.float32)
    prep = timed(lambda: model_input(film, 4095.0, 224), max(3, args.runs // 4))
    print(f"threads: {args.threads}; torch {torch.__version__}, onnxruntime {ort.__version__}")
    print(f"preprocessing a 2000×2500 film: {statistics.median(prep) * 1000:.1f} ms")

    print(f"{'batch':>5} {'engine':>12} {'ms/image (median)':>18} {'p90':>8} {'images/s':>9}")
    for batch_size in (1, 8, 16):
        batch = rng.uniform(-1024, 1024, (batch_size, 1, 224, 224)).astype(np.float32)
        tensor = torch.from_numpy(batch)

        def onnx_run(b=batch):
            return session.run(["logits", "cam"], {"image": b})

        def torch_run(t=tensor):
            with torch.inference_mode():
                return head(t)

        runs = args.runs if batch_size == 1 else max(3, args.runs // 4)
        results = {}
        for engine, call in (("onnxruntime", onnx_run), ("pytorch", torch_run)):
            seconds = timed(call, runs)
            per_image = statistics.median(seconds) / batch_size
            p90 = sorted(seconds)[int(0.9 * (len(seconds) - 1))] / batch_size
            results[engine] = per_image
            print(
                f"{batch_size:>5} {engine:>12} {per_image * 1000:>18.1f} {p90 * 1000:>8.1f} "
                f"{1 / per_image:>9.1f}"
            )
        ratio = results["pytorch"] / results["onnxruntime"]
        print(f"{batch_size:>5} {'ratio':>12} ONNX Runtime is {ratio:.2f}x PyTorch eager")


if __name__ == "__main__":
    main()
