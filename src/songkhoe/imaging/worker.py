"""The AI worker: reads the films waiting in the store (analysis Tasks), in batches, off the
request path, so an upload returns at once. Run it as its own process (`songkhoe imaging
worker`) or, with SONGKHOE_IMAGING_WORKER=thread, as a thread of the web app. Several workers
may run: each claims a Task by updating it at the version it read, so no film is read twice."""

import logging
import threading

from songkhoe.fhir.outcomes import FhirError
from songkhoe.fhir.store import ResourceStore, VersionConflict
from songkhoe.imaging import service
from songkhoe.imaging.inference import Analyzer
from songkhoe.imaging.ingest import InvalidImage
from songkhoe.imaging.media import MediaFiles
from songkhoe.imaging.registry import ModelError, installed, resolve

logger = logging.getLogger(__name__)
BATCH_SIZE = 8


def run_once(
    store: ResourceStore, files: MediaFiles, analyzer: Analyzer, batch_size: int = BATCH_SIZE
) -> int:
    """Claim up to `batch_size` waiting films, read them in one batch, record the results;
    returns how many were claimed."""
    caller = service.worker_caller(store)
    waiting = service.pending_analyses(caller, batch_size)
    tasks = [t for t in (service.claim(caller, t) for t in waiting) if t is not None]
    ready, films = [], []
    for task in tasks:
        try:
            films.append(service.film_of(caller, files, task))
            ready.append(task)
        except (InvalidImage, FhirError, OSError, ValueError) as exc:
            service.record_failure(caller, task, f"the film cannot be read again: {exc}")
    if ready:
        try:
            analyses = analyzer.analyze(films, batch_size)
        except Exception as exc:  # ONNX Runtime's errors have no common base class
            for task in ready:
                service.record_failure(caller, task, f"the model failed: {exc}")
            logger.error(
                "imaging worker: model %s failed on a batch of %d",
                analyzer.manifest.name,
                len(ready),
            )
            return len(tasks)
        for task, film, analysis in zip(ready, films, analyses, strict=True):
            try:
                service.record_analysis(caller, files, task, film, analysis)
            except VersionConflict:  # another worker took it up again meanwhile: theirs stands
                logger.warning("imaging worker: %s was recorded by another worker", task["id"])
    if tasks:
        logger.info("imaging worker: %d film(s) read with %s", len(ready), analyzer.manifest.name)
    return len(tasks)


def load_analyzer(model_choice: str, model_dir) -> Analyzer:
    return Analyzer(installed(resolve(model_choice, model_dir), model_dir))


def run(
    store: ResourceStore,
    files: MediaFiles,
    *,
    model_choice: str,
    model_dir,
    stop: threading.Event,
    poll_seconds: float = 2.0,
) -> None:
    """Poll for films until `stop` is set; waits (and says why, once) while no model is
    installed."""
    analyzer, complaint = None, None
    while not stop.is_set():
        if analyzer is None:
            try:
                analyzer = load_analyzer(model_choice, model_dir)
                logger.info("imaging worker: reading films with %s", analyzer.manifest.name)
            except ModelError as exc:
                if str(exc) != complaint:
                    logger.warning("imaging worker waits: %s", exc)
                    complaint = str(exc)
                stop.wait(poll_seconds * 5)
                continue
        try:
            claimed = run_once(store, files, analyzer)
        except Exception as exc:  # keep polling: the database may come back
            logger.error("imaging worker: a round failed (%s); retrying", type(exc).__name__)
            claimed = 0
        if claimed == 0:
            stop.wait(poll_seconds)


def start_thread(store: ResourceStore, files: MediaFiles, *, model_choice: str, model_dir):
    """The worker as a daemon thread of the web app; returns its stop event."""
    stop = threading.Event()
    thread = threading.Thread(
        target=run,
        kwargs={
            "store": store,
            "files": files,
            "model_choice": model_choice,
            "model_dir": model_dir,
            "stop": stop,
        },
        name="imaging-worker",
        daemon=True,
    )
    thread.start()
    return stop
