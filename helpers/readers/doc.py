"""Old Word and WPS reader (.doc, .wps, .dot, .odt): LibreOffice converts to DOCX, then the DOCX reader.

LibreOffice's UNO bridge (python3-uno) works only under Debian's own Python, so the conversion runs
in a separate converter process (`convert_server.py` under /usr/bin/python3) that keeps one headless
LibreOffice open: a batch starts it once per worker process, not once per file, and a new one
replaces it when it dies. Each conversion has a time-out; a hung conversion kills the converter
(it is restarted for the next file) and is an error row, never a hung batch. Documents are loaded
read-only, with macros never run and links never updated, and the converter runs in a network
namespace of its own (`unshare -n`, with a dead proxy as the fallback), so no linked image or
object is ever fetched.
The same converter writes the generator's .doc, .xls and .ods files.
"""

from __future__ import annotations

import atexit
import functools
import json
import os
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from ..document import Document
from ..errors import BrokenFile, ConversionFailed

__all__ = ["CONVERT_TIMEOUT", "Converter", "convert", "converter", "read_doc"]

CONVERT_TIMEOUT = 60.0   # seconds for one conversion
START_TIMEOUT = 90.0     # seconds for LibreOffice to start
SYSTEM_PYTHON = os.environ.get("OGI_UNO_PYTHON", "/usr/bin/python3")
SERVER = Path(__file__).with_name("convert_server.py")

# LibreOffice export filters by target form.
FILTERS = {"docx": "MS Word 2007 XML", "doc": "MS Word 97", "xlsx": "Calc MS Excel 2007 XML",
           "xls": "MS Excel 97", "ods": "calc8"}


class Converter:
    """One converter process (one LibreOffice), started on first use and restarted when it dies."""

    def __init__(self, timeout: float = CONVERT_TIMEOUT) -> None:
        self.timeout = timeout
        self.proc: subprocess.Popen[str] | None = None
        self.profile: str | None = None
        self.lock = threading.Lock()
        self.started = 0  # how many LibreOffice processes this converter has started

    def _start(self) -> subprocess.Popen[str]:
        if shutil.which("soffice") is None or not Path(SYSTEM_PYTHON).exists():
            raise ConversionFailed("(converter)", "LibreOffice (soffice) or Debian's python3 is not installed",
                                   "run `make system-deps` (scripts/system-deps.sh) to install it")
        self.profile = tempfile.mkdtemp(prefix="ogi-lo-")
        proc = subprocess.Popen([*_no_network(), SYSTEM_PYTHON, str(SERVER), self.profile], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        line = self._readline(proc, START_TIMEOUT)
        if line is None or not json.loads(line).get("ready"):
            err = proc.stderr.read() if proc.poll() is not None and proc.stderr else ""
            self._kill(proc)
            raise ConversionFailed("(converter)", f"LibreOffice did not start: {err.strip()[-300:] or 'no answer'}",
                                   "check that `soffice --headless` runs on this machine")
        self.started += 1
        return proc

    @staticmethod
    def _readline(proc: subprocess.Popen[str], timeout: float) -> str | None:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], timeout)
        if not ready:
            return None
        line = proc.stdout.readline()
        return line or None

    def _kill(self, proc: subprocess.Popen[str] | None) -> None:
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)
        if proc is self.proc:
            self.proc = None
        if self.profile:
            shutil.rmtree(self.profile, ignore_errors=True)
            self.profile = None

    def close(self) -> None:
        """Stop the converter process and its LibreOffice."""
        self._kill(self.proc)

    def run(self, src: Path, dst: Path, filter_name: str, name: str, password: str | None = None) -> None:
        """Convert file `src` to `dst` with a LibreOffice export filter; errors name `name`."""
        with self.lock:
            for attempt in range(2):
                if self.proc is None or self.proc.poll() is not None:
                    self._kill(self.proc)
                    self.proc = self._start()
                proc = self.proc
                assert proc.stdin is not None
                try:
                    request = {"src": str(src), "dst": str(dst), "filter": filter_name, "password": password}
                    proc.stdin.write(json.dumps(request) + "\n")
                    proc.stdin.flush()
                except BrokenPipeError:
                    self._kill(proc)
                    continue
                t0 = time.monotonic()
                line = self._readline(proc, self.timeout)
                if line is None:
                    died = proc.poll() is not None
                    self._kill(proc)
                    if died and attempt == 0:
                        continue  # LibreOffice died before answering: try once with a new one
                    raise ConversionFailed(name, "the conversion by LibreOffice " + (
                        "stopped" if died else f"did not finish in {time.monotonic() - t0:.0f} s"),
                        "the file may be damaged or very large; open and re-save it")
                reply = json.loads(line)
                if proc.poll() is not None:
                    self._kill(proc)
                if reply.get("ok"):
                    return
                raise ConversionFailed(name, f"LibreOffice cannot convert it ({reply.get('error', 'no reason given')})")
            raise ConversionFailed(name, "LibreOffice stopped twice while converting it")


_CONVERTER: Converter | None = None


@functools.lru_cache(maxsize=1)
def _no_network() -> tuple[str, ...]:
    """The prefix that runs the converter without a network (a new, empty network namespace), so
    LibreOffice cannot fetch a linked image or object whatever a document asks; empty where the
    system does not allow it (the profile's dead proxy is then the only guard)."""
    for prefix in (("unshare", "-n"), ("unshare", "-rn")):
        try:
            if subprocess.run([*prefix, "true"], capture_output=True, timeout=10).returncode == 0:
                return prefix
        except (OSError, subprocess.SubprocessError):
            continue
    return ()


def converter() -> Converter:
    """This process's converter (one per worker), started on first use."""
    global _CONVERTER
    if _CONVERTER is None:
        _CONVERTER = Converter()
        atexit.register(_CONVERTER.close)
    return _CONVERTER


def convert(data: bytes, src_form: str, dst_form: str, name: str = "(document)", password: str | None = None) -> bytes:
    """Convert bytes of one form to another (docx, doc, xlsx, xls, ods) with the warm converter
    (`password` protects the output: the generator's locked files)."""
    with tempfile.TemporaryDirectory(prefix="ogi-conv-") as tmp:
        src = Path(tmp) / f"in.{src_form}"
        dst = Path(tmp) / f"out.{dst_form}"
        src.write_bytes(data)
        converter().run(src, dst, FILTERS[dst_form], name, password)
        if not dst.exists() or dst.stat().st_size == 0:
            raise ConversionFailed(name, "LibreOffice wrote no output")
        return dst.read_bytes()


def read_doc(path: Path, data: bytes, form: str) -> Document:
    """Read a Word 97 / WPS / ODF text file: convert it to DOCX, then read that with the DOCX reader."""
    from .docx import read_docx

    suffix = {"wps": "doc", "odt": "odt"}.get(form, "doc")
    try:
        docx = convert(data, suffix, "docx", name=str(path))
    except ConversionFailed as exc:
        if "cannot convert" in exc.problem:
            raise BrokenFile(path, f"a {form} file that LibreOffice cannot open: password-protected or damaged",
                             "open it in Word or WPS, remove the password, and save it again") from exc
        raise
    doc = read_docx(path, docx)
    doc.form = form
    doc.notes.append(f"converted from {form} to DOCX by LibreOffice")
    return doc
