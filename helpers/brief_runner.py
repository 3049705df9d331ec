"""Run the brief notebooks over a store and publish them as offline HTML (the engine of `ogi brief`).

Each brief is executed by papermill's own `execute_notebook` (its parameter injection, metadata and
error handling), with one difference in where the code runs: an engine registered here as
"ogi-reused-kernel" runs it on a kernel that the worker keeps between briefs. Before each brief the
kernel's namespace is reset (`InteractiveShell.reset(new_session=True)`, so execution counts start
at 1 again) and the warning registries are cleared, so a brief equals what papermill produces on a
fresh kernel; only imports and the per-process store cache (helpers.briefs.store_data, keyed on the
store's files) survive, which is where the time goes. After the first brief the kernel's long-lived
objects are moved out of the garbage collector's sight (`gc.freeze()`), so the reset's collection
stays cheap.

Exported pages use the nbconvert template helpers/templates/nbconvert/ogi_brief: code hidden, no
scripts, no external URL (a Content-Security-Policy forbids them too), images as data URIs, CSS
inline. The run writes one page per report under reports/, corpus.html, index.html and
manifest.json (parameters, status, error, seconds and input hash of each brief); a re-run skips a
brief whose input hash and page are unchanged. A failed brief never stops the batch: its page shows
the error, its executed notebook is kept under failed/, and the index lists it.
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import datetime as dt
import hashlib
import html
import json
import logging
import multiprocessing
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from .errors import BriefError, StoreError
from .frames import missing

__all__ = [
    "BriefJob",
    "BriefResult",
    "BriefRun",
    "KernelWorker",
    "OWNED_NAMES",
    "NOTEBOOK_DIR",
    "check_output",
    "export_html",
    "input_files",
    "plan_briefs",
    "prepare_notebook",
    "run_briefs",
    "scrub_paths",
    "write_atomic",
]

log = logging.getLogger("helpers.briefs")

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
ENGINE = "ogi-reused-kernel"
MANIFEST = "manifest.json"
MANIFEST_VERSION = 1
TEMPLATE_NAME = "ogi_brief"
# Shown in static pages, best first; live widgets and scripts have no static form.
DISPLAY_PRIORITY = ["text/html", "image/svg+xml", "image/png", "image/jpeg", "text/markdown", "text/plain"]
CELL_TIMEOUT = 600
# A reused kernel keeps no input history (nothing a brief shows depends on it; saving it costs time)
# and logs only errors (not its start-up notices on the terminal of `ogi brief`).
KERNEL_ARGUMENTS = ["--HistoryManager.enabled=False", "--log-level=ERROR"]
# Source files whose change changes every brief (with the notebook itself and the parameters).
CODE_FILES = ("briefs.py", "plots.py", "explore.py", "brief_runner.py", "metrics.py", "templates/briefs.yaml",
              "templates/metrics.yaml", "templates/nbconvert/ogi_brief/index.html.j2",
              "templates/nbconvert/ogi_brief/brief.css")
_RESET_CODE = """\
get_ipython().reset(new_session=True)
import sys as _s, warnings as _w
_w.onceregistry.clear()
_w._filters_mutated()
for _m in list(_s.modules.values()):
    _r = getattr(_m, '__warningregistry__', None)
    if isinstance(_r, dict):
        _r.clear()
if 'matplotlib.pyplot' in _s.modules:
    _s.modules['matplotlib.pyplot'].close('all')
import gc as _g
if not _g.get_freeze_count():
    _g.collect()
    _g.freeze()
del _s, _w, _m, _r, _g
"""


# --------------------------------------------------------------------------------------------
# Files


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write a file via a hidden temp file in the same folder and os.replace (never half-written)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{secrets.token_hex(4)}-{path.name}")
    try:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _sha(*parts: Any) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else json.dumps(p, sort_keys=True, default=str).encode())
        h.update(b"\0")
    return h.hexdigest()


def _code_hash() -> str:
    root = Path(__file__).resolve().parent
    return _sha(*[(root / f).read_bytes() if (root / f).exists() else f.encode() for f in CODE_FILES])


# What `ogi brief` writes into its output folder; a folder holding anything else is not its own.
OWNED_NAMES = frozenset({MANIFEST, "index.html", "corpus.html", "reports", "failed", "notebooks", "store"})


def check_output(out: Path) -> None:
    """Refuse an output folder that `ogi brief` does not own: one that exists, is not empty, has no
    manifest.json of an earlier run and holds names that are not the briefs' own, so that a brief
    never writes into (or cleans) a folder of someone else's files."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise BriefError(str(out), "exists and is not a folder; give a new or empty folder for the briefs")
    if not out.is_dir() or (out / MANIFEST).is_file():
        return
    foreign = sorted(p.name for p in out.iterdir() if p.name not in OWNED_NAMES and not p.name.startswith(".tmp-"))
    if foreign:
        shown = ", ".join(foreign[:5]) + (" …" if len(foreign) > 5 else "")
        raise BriefError(str(out), f"is not a brief folder (no {MANIFEST}) and holds other files ({shown}); "
                         "give a new or empty folder, so that no file of yours is overwritten or removed")


def input_files(inputs: Sequence[str | os.PathLike[str]], out: Path) -> list[str]:
    """The report files under `inputs`, leaving out the brief output folder `out` and any folder
    that holds briefs (a manifest.json of ours beside index.html) or a store: `ogi brief DIR --out
    DIR/briefs` never reads its own pages as reports."""
    from .store import MARKER

    out_real = os.path.realpath(out)

    def ours(d: str) -> bool:
        return (os.path.realpath(d) == out_real or os.path.isfile(os.path.join(d, MARKER))
                or (os.path.isfile(os.path.join(d, MANIFEST)) and os.path.isfile(os.path.join(d, "index.html"))))

    files: list[str] = []
    for given in inputs:
        p = Path(given)
        if p.is_file():
            if not os.path.realpath(p).startswith(out_real + os.sep):
                files.append(str(p))
            continue
        if ours(str(p)):
            continue
        for dirpath, dirnames, filenames in os.walk(p):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and not ours(os.path.join(dirpath, d)))
            files.extend(os.path.join(dirpath, f) for f in sorted(filenames) if not f.startswith("."))
    return files


# --------------------------------------------------------------------------------------------
# Jobs


@dataclasses.dataclass
class BriefJob:
    """One brief to make: which notebook, with which parameters, written where."""

    id: str
    kind: str                      # "report" or "corpus"
    notebook: str
    output: str                    # page path relative to the output folder
    parameters: dict[str, Any]
    title: str
    input_hash: str = ""
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class BriefResult:
    """What became of a job: status ok or failed, the error, the time it took, whether it ran."""

    id: str
    status: str
    seconds: float
    error: str | None = None
    ran: bool = True
    kept_notebook: str | None = None


def _text(value: Any) -> str:
    """A report field as text: "" for None, NaN, <NA> and NaT (never "nan" on a page); a date
    without its midnight time."""
    if missing(value):
        return ""
    if isinstance(value, pd.Timestamp) and value == value.normalize() and value.tzinfo is None:
        return value.date().isoformat()
        return ""
    return str(value)


def _count(value: Any) -> int | None:
    return None if missing(value) else int(value)


def _digests(frame: pd.DataFrame, columns: Sequence[str]) -> dict[str, str]:
    """report_id → a digest of that report's rows (vectorised row hashes, summed per report)."""
    if frame.empty:
        return {}
    cols = [c for c in columns if c in frame.columns]
    rows = pd.util.hash_pandas_object(frame[cols].astype("string"), index=False)
    summed = rows.groupby(frame["report_id"].astype(str).to_numpy()).sum()
    return {str(k): f"{int(v) & 0xFFFFFFFFFFFFFFFF:016x}-{n}"
            for (k, v), n in zip(summed.items(), frame.groupby(frame["report_id"].astype(str)).size())}


def _previous_pages(c: Any) -> dict[str, str]:
    """report_id → the report_id of the previous year's panel file of the same organ (the most
    completely read file of that organ-year, `helpers.metrics.panel_table`)."""
    from .metrics import panel_table

    reports = c.reports
    if reports.empty or "organ_id" not in reports:
        return {}
    keep = panel_table(c.cells, reports, keys=["table_3/results_total/total"]).table
    primary = {(str(o), int(y)): str(r) for o, y, r in zip(keep["organ_id"], keep["year"], keep["report_id"])
               if not pd.isna(y)}
    out = {}
    for rid, organ, year in zip(reports["report_id"].astype(str), reports["organ_id"], reports["year"]):
        if _text(organ) and not pd.isna(year) and (str(organ), int(year) - 1) in primary:
            out[rid] = primary[(str(organ), int(year) - 1)]
    return out


def plan_briefs(store: str | os.PathLike[str], *, year: int | None = None, where: str = "",
                notebooks: Path = NOTEBOOK_DIR, corpus: bool = True, out: Path | None = None) -> list[BriefJob]:
    """One job per report in the store (and one for the corpus), each with its input hash: the
    notebook, the code, the parameters and a digest of every stored row the brief reads. With `out`
    (the output folder), each report brief links its source file relatively."""
    from .filter_expr import filter_frame
    from .store import open_store

    c = open_store(store)
    root = str(Path(store).absolute())
    reports = c.reports
    if year is not None:
        reports = reports[reports["year"] == int(year)]
    reports = filter_frame(reports, where)
    if year is not None and reports.empty:
        years = sorted({int(y) for y in c.reports["year"].dropna()})
        have = f"its years are {', '.join(map(str, years))}" if years else "it holds no reports"
        raise BriefError(str(store), f"no reports of {int(year)} in the store{' match the filter' if where else ''}; "
                         f"{have}")
    code = _code_hash()
    nb_report = notebooks / "report_brief.ipynb"
    nb_corpus = notebooks / "corpus_brief.ipynb"
    for nb in (nb_report, nb_corpus):
        if not nb.is_file():
            raise BriefError(str(nb), "the brief notebook is missing; pass --notebooks DIR with report_brief.ipynb "
                             "and corpus_brief.ipynb")
    report_nb_hash = _sha(nb_report.read_bytes())
    rows = {name: _digests(getattr(c, name), cols) for name, cols in (
        ("reports", list(c.reports.columns.difference(["ingested_at"]))), ("cells", list(c.cells.columns)),
        ("findings", list(c.findings.columns)), ("sections", list(c.sections.columns)))}

    def digest(rid: str | None) -> list[str]:
        return [rows[n].get(rid or "", "") for n in rows]

    jobs: list[BriefJob] = []
    previous_pages = _previous_pages(c)
    selected = set(reports["report_id"].astype(str))
    for rec in reports.sort_values(["year", "agency", "report_id"], na_position="last").to_dict("records"):
        rid = str(rec["report_id"])
        prev = rec.get("previous_report_id")
        prev = None if prev is None or (isinstance(prev, float) and pd.isna(prev)) else str(prev)
        params = {"store": root, "report_id": rid, "index_href": "../index.html"}
        page_prev = previous_pages.get(rid)
        if page_prev in selected:
            params["previous_href"] = f"{page_prev[:16]}.html"
        if out is not None and _text(rec.get("path")):
            params["source_href"] = Path(os.path.relpath(str(rec["path"]), Path(out) / "reports")).as_posix()
        year_txt = "" if pd.isna(rec.get("year")) else str(int(rec["year"]))
        agency = _text(rec.get("agency"))
        title = f"{agency or _text(rec.get('organ_name')) or rid[:12]} {year_txt}".strip()
        jobs.append(BriefJob(id=f"report:{rid}", kind="report", notebook=str(nb_report),
                             output=f"reports/{rid[:16]}.html", parameters=params, title=title,
                             input_hash=_sha(report_nb_hash, code, params, digest(rid), digest(prev)),
                             meta={"report_id": rid, "agency": agency, "year": year_txt,
                                   "template": _text(rec.get("template")), "form": _text(rec.get("form")),
                                   **{k: _count(rec.get(k)) for k in ("n_errors", "n_warnings", "n_unreadable")}}))
    if corpus:
        params = {"store": root, "year": year, "where": where, "brief_href": "reports/{short_id}.html",
                  "index_href": "index.html"}
        store_digest = _sha(sorted((n, sorted(d.items())) for n, d in rows.items()),
                            _digests(c.failures.assign(report_id=c.failures["path"]), list(c.failures.columns)))
        from .briefs import label

        title = label("corpus_brief") + ("" if year is None else f" {year}")
        jobs.insert(0, BriefJob(id="corpus", kind="corpus", notebook=str(nb_corpus), output="corpus.html",
                                parameters=params, title=title,
                                input_hash=_sha(_sha(nb_corpus.read_bytes()), code, params, store_digest)))
    return jobs


# --------------------------------------------------------------------------------------------
# Executing on a reused kernel


def _register_engine() -> None:
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines
    from papermill.utils import merge_kwargs, remove_args

    if ENGINE in papermill_engines._engines:
        return

    class ReusedKernelEngine(NBClientEngine):
        """papermill's nbclient engine on a kernel (km, kc) that outlives the notebook."""

        @classmethod
        def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, log_output: bool = False,
                                     stdout_file: Any = None, stderr_file: Any = None, start_timeout: int = 60,
                                     execution_timeout: int | None = None, **kwargs: Any) -> Any:
            km, kc, sink = kwargs.pop("km"), kwargs.pop("kc"), kwargs.pop("sink", None)
            kwargs = remove_args(["input_path"], **kwargs)
            safe_kwargs = remove_args(["timeout", "startup_timeout"], **kwargs)
            final = merge_kwargs(safe_kwargs, timeout=execution_timeout if execution_timeout else kwargs.get("timeout"),
                                 startup_timeout=start_timeout, kernel_name=kernel_name,
                                 log=logging.getLogger("papermill"), log_output=log_output, stdout_file=stdout_file,
                                 stderr_file=stderr_file)
            client = PapermillNotebookClient(nb_man, km=km, **final)
            client.kc = kc
            if sink is not None:
                sink.append(nb_man.nb)
            return client.execute(cleanup_kc=False)

    papermill_engines.register(ENGINE, ReusedKernelEngine)


class KernelWorker:
    """A Python kernel kept for many briefs: papermill runs each on it after a namespace reset."""

    def __init__(self, kernel_name: str = "python3", cwd: str | None = None) -> None:
        self.kernel_name = kernel_name
        self.cwd = cwd or os.getcwd()
        self.km: Any = None
        self.kc: Any = None
        self.briefs = 0

    def start(self) -> None:
        from jupyter_client.manager import KernelManager

        _register_engine()
        self.km = KernelManager(kernel_name=self.kernel_name)
        self.km.start_kernel(cwd=self.cwd, extra_arguments=KERNEL_ARGUMENTS)
        self.kc = self.km.client()
        self.kc.start_channels()
        self.kc.wait_for_ready(timeout=120)
        self.briefs = 0

    def alive(self) -> bool:
        return self.km is not None and self.km.is_alive()

    def close(self) -> None:
        if self.kc is not None:
            self.kc.stop_channels()
        if self.km is not None and self.km.has_kernel:
            self.km.shutdown_kernel(now=True)
        self.km = self.kc = None

    def reset(self) -> None:
        """Clear the user namespace, execution count and warning registries (imports stay); the first
        reset also freezes what is left (modules, caches) out of the garbage collector's scans."""
        msg_id = self.kc.execute(_RESET_CODE, silent=True, store_history=False)
        reply = self.kc.get_shell_msg(timeout=60)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=60)
        if reply["content"]["status"] != "ok":
            raise BriefError("kernel", f"could not reset the kernel: {reply['content'].get('evalue')}")
        # Drain the iopub messages of the reset so that the next notebook starts clean.
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.5)
            except Exception:  # noqa: BLE001 - queue.Empty: nothing left
                break
            if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "status"
                    and msg["content"].get("execution_state") == "idle"):
                break

    def run(self, notebook: str, parameters: dict[str, Any], sink: list[Any] | None = None) -> Any:
        """Execute a notebook with papermill on this kernel; returns the executed NotebookNode."""
        import papermill

        if not self.alive():
            self.close()
            self.start()
        if self.briefs:
            self.reset()
        self.briefs += 1
        return papermill.execute_notebook(notebook, None, parameters=parameters, engine_name=ENGINE,
                                          kernel_name=self.kernel_name, progress_bar=False,
                                          request_save_on_cell_execute=False, execution_timeout=CELL_TIMEOUT,
                                          km=self.km, kc=self.kc, sink=sink)


def prepare_notebook(notebook: str, parameters: dict[str, Any]) -> Any:
    """The notebook as papermill parameterises it, without running it (`prepare_only`)."""
    import papermill

    return papermill.execute_notebook(notebook, None, parameters=parameters, prepare_only=True, progress_bar=False)


# --------------------------------------------------------------------------------------------
# Exporting


def _template_dir() -> str:
    return str(resources.files("helpers.templates").joinpath("nbconvert"))


_EXPORTER: Any = None


def _exporter() -> Any:
    global _EXPORTER
    if _EXPORTER is None:
        from nbconvert import HTMLExporter
        from nbconvert.preprocessors import Preprocessor, TagRemovePreprocessor

        class StaticWidgets(Preprocessor):  # type: ignore[misc]
            """Cells tagged `widget`: keep only outputs with an HTML fallback, drop live-only ones."""

            def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, Any]:
                if "widget" in cell.metadata.get("tags", []) and cell.cell_type == "code":
                    kept = []
                    for out in cell.outputs:
                        data = out.get("data", {})
                        if "text/html" in data or "image/png" in data or out.get("output_type") == "error":
                            out["data"] = {k: v for k, v in data.items() if k in ("text/html", "image/png")}
                            kept.append(out)
                    cell.outputs = kept
                return cell, resources

        from nbconvert.exporters.templateexporter import TemplateExporter
        from nbconvert.filters import DataTypeFilter

        class BriefExporter(HTMLExporter):  # type: ignore[misc]
            """HTMLExporter without its BeautifulSoup pass over the page (alt texts and tab stops for
            the lab template; our template writes its own alt texts): a third of the export time."""

            def from_notebook_node(self, nb: Any, resources: Any = None, **kw: Any) -> tuple[str, Any]:
                resources = self._init_resources(resources)
                self.register_filter("filter_data_type",
                                     DataTypeFilter(display_data_priority=DISPLAY_PRIORITY, parent=self))
                return TemplateExporter.from_notebook_node(self, nb, resources, **kw)  # type: ignore[no-any-return]

        exp = BriefExporter(template_name=TEMPLATE_NAME, extra_template_basedirs=[_template_dir()])
        exp.exclude_input = True
        exp.display_data_priority = DISPLAY_PRIORITY
        exp.register_preprocessor(TagRemovePreprocessor(remove_cell_tags={"remove-static"}), enabled=True)
        exp.register_preprocessor(StaticWidgets(), enabled=True)
        _EXPORTER = exp
    return _EXPORTER


def export_html(nb: Any, title: str) -> str:
    """A notebook as an offline HTML page with the brief template (code hidden, nothing external)."""
    body, _ = _exporter().from_notebook_node(nb, resources={"metadata": {"name": title}})
    return str(body)


def brief_css() -> str:
    """The briefs' stylesheet (also inlined in index.html)."""
    return resources.files("helpers.templates").joinpath("nbconvert", TEMPLATE_NAME, "brief.css").read_text("utf-8")


# --------------------------------------------------------------------------------------------
# A worker process


_WORKER: KernelWorker | None = None


def _worker_init() -> None:
    from multiprocessing.util import Finalize

    global _WORKER
    logging.getLogger("papermill").setLevel(logging.WARNING)
    _WORKER = KernelWorker()
    _WORKER.start()
    Finalize(_WORKER, _WORKER.close, exitpriority=10)  # shut the kernel down when the worker exits


def _error_text(exc: BaseException) -> str:
    name = type(exc).__name__
    ename = getattr(exc, "ename", None)
    if ename:
        cell = getattr(exc, "cell_index", None)
        return f"{ename}: {getattr(exc, 'evalue', '')} (notebook cell {cell})"
    return f"{name}: {exc}"


def scrub_paths(text: str, *roots: str | os.PathLike[str] | None) -> str:
    """`text` with the absolute paths of this machine replaced: the given roots (the output folder,
    the store) by their names in brackets (`[store]`), then the checkout, the virtual environment,
    the working folder and the home folder (`[ogi-reports]`, `[venv]`, `[cwd]`, `~`), so that no
    published page names the machine's folders. The placeholders are plain text, safe in HTML."""
    subs: list[tuple[str, str]] = []
    for r in roots:
        if r:
            p = str(Path(r).absolute())
            subs.append((p, f"[{Path(p).name}]"))
    project = str(Path(__file__).resolve().parent.parent)
    subs += [(project, "[ogi-reports]"), (sys.prefix, "[venv]"), (os.path.realpath(sys.prefix), "[venv]"),
             (os.getcwd(), "[cwd]"), (str(Path.home()), "~")]
    for old, new in sorted(subs, key=lambda x: -len(x[0])):
        if len(old) > 1:
            text = text.replace(old, new)
    return text


def _failure_page(job: BriefJob, error: str) -> str:
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" '
            f"content=\"default-src 'none'; style-src 'unsafe-inline'\"><title>{html.escape(job.title)}</title><style>"
            f'{brief_css()}</style></head><body><main class="brief"><div class="banner"><h1>{html.escape(job.title)}'
            f"</h1><p>{html.escape(error)}</p></div></main></body></html>")


def run_job(job: BriefJob, out: Path, worker: KernelWorker | None = None, keep: bool = False) -> BriefResult:
    """Execute and export one brief into `out` (with `keep`, its executed notebook too, under
    notebooks/); never raises for a failing notebook."""
    worker = worker or _WORKER
    assert worker is not None, "run_job needs a KernelWorker (the pool initialiser starts one)"
    t0 = time.perf_counter()
    sink: list[Any] = []
    try:
        nb = worker.run(job.notebook, job.parameters, sink=sink)
        page = scrub_paths(export_html(nb, job.title), out, job.parameters.get("store"))
        write_atomic(out / job.output, page)
        kept = None
        if keep:
            import nbformat

            kept = f"notebooks/{Path(job.output).stem}.ipynb"
            write_atomic(out / kept, nbformat.writes(nb))
        return BriefResult(id=job.id, status="ok", seconds=time.perf_counter() - t0, kept_notebook=kept)
    except Exception as exc:  # noqa: BLE001 - one failing brief never stops the batch
        error = _error_text(exc)
        kept = None
        try:
            if sink:
                import nbformat

                kept = f"failed/{Path(job.output).stem}.ipynb"
                write_atomic(out / kept, nbformat.writes(sink[0]))
                page = export_html(sink[0], job.title)
            else:
                page = _failure_page(job, error)
        except Exception as exc2:  # noqa: BLE001 - even the error page failed: say so plainly
            page = _failure_page(job, f"{error}; the failed notebook could not be exported: {exc2}")
        write_atomic(out / job.output, scrub_paths(page, out, job.parameters.get("store")))
        return BriefResult(id=job.id, status="failed", seconds=time.perf_counter() - t0,
                           error=scrub_paths(error, out, job.parameters.get("store")), kept_notebook=kept)


def _run_chunk(jobs: list[BriefJob], out: str, keep: bool = False) -> list[BriefResult]:
    return [run_job(j, Path(out), keep=keep) for j in jobs]


# --------------------------------------------------------------------------------------------
# The batch


@dataclasses.dataclass
class BriefRun:
    """The outcome of `run_briefs`: one result per job, the output folder and the wall time."""

    out: Path
    jobs: list[BriefJob]
    results: dict[str, BriefResult]
    seconds: float

    @property
    def failed(self) -> list[BriefResult]:
        return [r for r in self.results.values() if r.status != "ok"]

    @property
    def ran(self) -> int:
        return sum(1 for r in self.results.values() if r.ran)

    @property
    def index(self) -> Path:
        return self.out / "index.html"


def _load_manifest(out: Path) -> dict[str, dict[str, Any]]:
    try:
        data = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        return {b["id"]: b for b in data.get("briefs", [])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _manifest(run: BriefRun, store: str) -> dict[str, Any]:
    briefs = []
    for job in run.jobs:
        res = run.results.get(job.id)
        briefs.append({"id": job.id, "kind": job.kind, "title": job.title, "notebook": job.notebook,
                       "output": job.output, "parameters": job.parameters, "input_hash": job.input_hash,
                       "status": res.status if res else "not run", "error": res.error if res else None,
                       "seconds": round(res.seconds, 3) if res else None, "ran": res.ran if res else False,
                       "kept_notebook": res.kept_notebook if res else None, "meta": job.meta})
    return {"version": MANIFEST_VERSION, "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "store": store, "seconds": round(run.seconds, 3), "briefs": briefs}


def _index_html(run: BriefRun, failures: pd.DataFrame) -> str:
    from .briefs import label

    e = html.escape
    corpus = [j for j in run.jobs if j.kind == "corpus"]
    reports = [j for j in run.jobs if j.kind == "report"]
    ok = [j for j in reports if run.results.get(j.id) and run.results[j.id].status == "ok"]
    bad = [j for j in run.jobs if run.results.get(j.id) and run.results[j.id].status != "ok"]
    parts = [f"<h1>{e(label('index_title'))}</h1>",
             f'<p class="note">{e(label("generated"))}: {e(dt.datetime.now().strftime("%Y-%m-%d %H:%M"))} — '
             f"{len(ok)} / {len(reports)} {e(label('reports'))}</p>"]
    if corpus:
        st = run.results.get(corpus[0].id)
        tail = "" if st and st.status == "ok" else f' <span class="sev-error">{e(label("brief_failed"))}</span>'
        parts.append(f'<h2><a href="{e(corpus[0].output)}">{e(label("corpus_brief"))}</a>{tail}</h2>')
    if bad:
        parts.append(f"<h2>{e(label('brief_failed'))}: {len(bad)}</h2><table><thead><tr><th>{e(label('brief'))}</th>"
                     f"<th>{e(label('error'))}</th></tr></thead><tbody>")
        for j in bad:
            res = run.results[j.id]
            kept = f' <a href="{e(res.kept_notebook)}">ipynb</a>' if res.kept_notebook else ""
            parts.append(f'<tr><td><a href="{e(j.output)}">{e(j.title)}</a>{kept}</td>'
                         f'<td class="sev-error">{e(res.error or "")}</td></tr>')
        parts.append("</tbody></table>")
    columns = ("agency", "year", "template", "form", "n_errors", "n_warnings", "n_unreadable", "status")
    parts.append(f"<h2>{e(label('brief'))}</h2><table class=\"links\"><thead><tr>" + "".join(
        f"<th>{e(label(k))}</th>" for k in columns) + "</tr></thead><tbody>")
    shown = {"ok": label("built"), "failed": label("not_built")}
    for j in reports:
        res = run.results.get(j.id)
        st = res.status if res else "not run"
        cls = "ok" if st == "ok" else "sev-error"
        m = j.meta
        counts = "".join(f'<td class="{"sev-error" if k == "n_errors" and m.get(k) else ""}">'
                         f'{e("" if m.get(k) is None else str(m.get(k)))}</td>'
                         for k in ("n_errors", "n_warnings", "n_unreadable"))
        parts.append(f'<tr><td><a href="{e(j.output)}">{e(str(m.get("agency") or j.title))}</a></td>'
                     f'<td>{e(str(m.get("year") or ""))}</td><td>{e(str(m.get("template") or ""))}</td>'
                     f'<td>{e(str(m.get("form") or ""))}</td>{counts}'
                     f'<td class="{cls}">{e(shown.get(st, label("not_run")))}</td></tr>')
    parts.append("</tbody></table>")
    if len(failures):
        parts.append(f"<h2>{e(label('failures'))}: {len(failures)}</h2><table><thead><tr><th>{e(label('path'))}</th>"
                     f"<th>{e(label('message'))}</th></tr></thead><tbody>")
        for p, m in zip(failures["path"], failures["message"]):
            parts.append(f"<tr><td><code>{e(Path(str(p)).name)}</code></td><td>{e(str(m))}</td></tr>")
        parts.append("</tbody></table>")
    from .briefs import footer

    parts.append(footer(None)._repr_html_())
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><meta http-equiv="Content-Security-Policy" '
            f"content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\"><title>"
            f"{e(label('index_title'))}</title><style>{brief_css()}</style></head><body><main class=\"brief\">"
            + "".join(parts) + "</main></body></html>")


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, unit="brief", desc="briefs", file=sys.stderr, dynamic_ncols=True,
                disable=not enabled or total == 0)


def run_briefs(store: str | os.PathLike[str], out: str | os.PathLike[str], *, workers: int = 1,
               year: int | None = None, where: str = "", notebooks: Path = NOTEBOOK_DIR,
               progress: bool = True, force: bool = False, chunk: int = 4, keep_notebooks: bool = False,
               on_result: Callable[[BriefResult], None] | None = None) -> BriefRun:
    """Brief every report of a store and the corpus into `out` on `workers` kernels.

    A brief whose input hash equals the manifest's, with status ok and its page present, is skipped
    (unless `force`, or `keep_notebooks` and its executed notebook is not kept). Results are recorded
    as they come; index.html and manifest.json are written at the end, also when the run is
    interrupted. `keep_notebooks` keeps every executed notebook under notebooks/.
    """
    t0 = time.perf_counter()
    out = Path(out).absolute()
    check_output(out)
    try:
        jobs = plan_briefs(store, year=year, where=where, notebooks=Path(notebooks), out=out)
    except StoreError as exc:
        raise BriefError(str(store), str(exc)) from exc
    out.mkdir(parents=True, exist_ok=True)
    written_before = _load_manifest(out)
    before = {} if force else written_before
    results: dict[str, BriefResult] = {}
    todo: list[BriefJob] = []
    for job in jobs:
        old = before.get(job.id)
        kept_old = old.get("kept_notebook") if old else None
        if (old and old.get("input_hash") == job.input_hash and old.get("status") == "ok"
                and (out / job.output).is_file()
                and (not keep_notebooks or (kept_old and (out / str(kept_old)).is_file()))):
            results[job.id] = BriefResult(id=job.id, status="ok", seconds=float(old.get("seconds") or 0), ran=False,
                                          kept_notebook=kept_old if keep_notebooks else None)
        else:
            todo.append(job)
    run = BriefRun(out=out, jobs=jobs, results=results, seconds=0.0)
    bar = _progress(len(todo), progress)
    try:
        for res in _execute(todo, out, workers, chunk, keep_notebooks):
            results[res.id] = res
            bar.update(1)
            if res.status != "ok":
                bar.write(f"brief failed: {res.id}: {res.error}")
            if on_result:
                on_result(res)
    finally:
        bar.close()
        run.seconds = time.perf_counter() - t0
        from .store import open_store

        failures = open_store(store).failures
        write_atomic(out / MANIFEST, json.dumps(_manifest(run, str(Path(store).absolute())), ensure_ascii=False,
                                                indent=1, default=str))
        write_atomic(out / "index.html", scrub_paths(_index_html(run, failures), out, store))
        _remove_stale(out, run, written_before)
    return run


def _remove_stale(out: Path, run: BriefRun, before: dict[str, dict[str, Any]]) -> None:
    """Delete pages and kept notebooks that an earlier run wrote (listed in its manifest) and that
    are no longer in this run (a report that left the store or the selection). A file ogi did not
    write is never removed."""
    keep = {(out / j.output).resolve() for j in run.jobs}
    keep |= {(out / r.kept_notebook).resolve() for r in run.results.values() if r.kept_notebook}
    root = out.resolve()
    for old in before.values():
        for rel in (old.get("output"), old.get("kept_notebook")):
            if not rel:
                continue
            path = (out / str(rel)).resolve()
            inside = path.parent in (root / "reports", root / "failed", root / "notebooks")
            if inside and path not in keep and path.suffix in (".html", ".ipynb"):
                path.unlink(missing_ok=True)


def _execute(jobs: list[BriefJob], out: Path, workers: int, chunk: int, keep: bool = False) -> Iterable[BriefResult]:
    """Run jobs on `workers` processes, each with its own kernel; corpus first (it is the longest)."""
    if not jobs:
        return
    if workers <= 1:
        worker = KernelWorker()
        worker.start()
        try:
            for job in jobs:
                yield run_job(job, out, worker, keep)
        finally:
            worker.close()
        return
    # Small chunks keep both workers busy to the end; the corpus brief goes alone and first.
    chunks = [[j] for j in jobs if j.kind == "corpus"]
    rest = [j for j in jobs if j.kind != "corpus"]
    size = max(1, min(chunk, len(rest) // (workers * 4) or 1))
    chunks += [rest[i:i + size] for i in range(0, len(rest), size)]
    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init) as pool:
        futures = {pool.submit(_run_chunk, c, str(out), keep): c for c in chunks}
        try:
            for fut in cf.as_completed(futures):
                try:
                    yield from fut.result()
                except Exception as exc:  # noqa: BLE001 - a worker process died: its briefs failed
                    for job in futures[fut]:
                        yield BriefResult(id=job.id, status="failed", seconds=0.0,
                                          error=f"the worker running it died ({type(exc).__name__}: {exc})")
        except BaseException:
            for f in futures:
                f.cancel()
            raise
