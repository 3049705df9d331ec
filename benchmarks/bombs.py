"""Resource bombs of the sizes found in review, each read by `ogi parse` in its own process:
wall time, peak memory and the outcome. The target: each refused or read within 2 GB and 60 s.

    .venv/bin/python benchmarks/bombs.py            # all of them (a few minutes, ~1 GB of temp files)
    .venv/bin/python benchmarks/bombs.py --only html-20-spans text-1m-lines

The builders (`pdf_with_stream` ...) are also used by tests/unit/test_limits.py at smaller sizes.
"""

from __future__ import annotations

import argparse
import io
import os
import subprocess
import sys
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def pdf_with_stream(body: bytes, filters: int) -> bytes:
    """A one-page PDF whose content stream is `body`, already Flate-compressed `filters` times."""
    flt = "/Filter [" + " ".join(["/FlateDecode"] * filters) + "]" if filters else ""
    objs = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
            b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>",
            f"<</Length {len(body)} {flt}>>\nstream\n".encode() + body + b"\nendstream"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for i, o in enumerate(objs, 1):
        offsets.append(out.tell())
        out.write(f"{i} 0 obj\n".encode() + o + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objs) + 1}\n0000000000 65535 f \n".encode())
    for off in offsets:
        out.write(f"{off:010d} 00000 n \n".encode())
    out.write(f"trailer\n<</Size {len(objs) + 1}/Root 1 0 R>>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()


def pdf_with_content(content: bytes, filters: int = 1) -> bytes:
    """A one-page PDF whose content stream is `content`, Flate-compressed `filters` times."""
    for _ in range(filters):
        content = zlib.compress(content, 9)
    return pdf_with_stream(content, filters)


def flate_of_spaces(n: int) -> bytes:
    """zlib data that inflates to `n` spaces, built in 1 MiB steps (never `n` bytes in memory)."""
    comp = zlib.compressobj(9)
    chunk = b" " * (1 << 20)
    parts = [comp.compress(chunk) for _ in range(n // len(chunk))]
    return b"".join(parts) + comp.flush()


def report_html() -> str:
    from helpers import synth

    return synth.render(synth.random_report(7, year=2022), "html", rng=1).data.decode("utf-8")


def html_spans(cells: int) -> bytes:
    spans = "".join('<td rowspan="1000" colspan="1000">1</td>' for _ in range(cells))
    return report_html().replace("<table", f"<table><tr>{spans}</tr></table><table", 1).encode("utf-8")


def docx_unpacking_to(n: int) -> bytes:
    """A generated DOCX whose document.xml carries a comment of `n` spaces (compresses ~1000:1)."""
    from helpers import synth

    good = synth.render(synth.random_report(3, year=2022), "docx", rng=1).data
    src = zipfile.ZipFile(io.BytesIO(good))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b"<w:body><!--" + b" " * n + b"-->", 1)
            zf.writestr(info.filename, data)
    return out.getvalue()


BOMBS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "html-20-spans": ("spans.html", lambda: html_spans(20)),
    "html-200-spans": ("spans200.html", lambda: html_spans(200)),
    "text-1m-lines": ("lines.txt", lambda: "一\n".encode() * 1_000_000),
    "docx-200mb-xml": ("bomb.docx", lambda: docx_unpacking_to(200 * 1024 * 1024)),
    "pdf-12m-path-ops": ("paths.pdf", lambda: pdf_with_content(b"BT ET\n" + b"0 0 m 1 1 l\n" * 6_000_000)),
    "pdf-5m-tj": ("tj.pdf", lambda: pdf_with_content(b"BT /F1 12 Tf\n" + b"(a) Tj\n" * 5_000_000 + b"ET\n")),
    "pdf-3gb-stream": ("inflate.pdf", lambda: pdf_with_stream(flate_of_spaces(3 * 1024 ** 3), 1)),
}


def measure(path: Path) -> tuple[float, float, int, str]:
    """(seconds, peak MiB, exit code, last stderr line) of `ogi parse PATH` in its own process."""
    cmd = ["/usr/bin/time", "-f", "TIME %e %M", sys.executable, "-c", "from helpers.cli import entry; entry()",
           "parse", str(path), "--format", "json"]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=900)
    lines = res.stderr.strip().splitlines()
    stat = next(ln for ln in reversed(lines) if ln.startswith("TIME "))
    _, secs, kib = stat.split()
    msg = next((ln for ln in lines if not ln.startswith(("TIME ", "Command exited"))), "(read)")
    return float(secs), int(kib) / 1024, res.returncode, msg


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="+", choices=[*BOMBS, "fifo", "dev-zero"], default=None)
    args = ap.parse_args()
    names = args.only or [*BOMBS, "fifo", "dev-zero"]
    print(f"{'bomb':<18} {'file':>10} {'s':>7} {'peak MiB':>9} {'exit':>5}  outcome")
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            if name == "fifo":
                path = Path(tmp) / "pipe.txt"
                os.mkfifo(path)
            elif name == "dev-zero":
                path = Path(tmp) / "zero.txt"
                path.symlink_to("/dev/zero")
            else:
                fname, build = BOMBS[name]
                path = Path(tmp) / fname
                path.write_bytes(build())
            size = path.stat().st_size if path.is_file() else 0
            secs, mib, code, msg = measure(path)
            ok = secs <= 60 and mib <= 2048
            bad += not ok
            print(f"{name:<18} {size / 1e6:>8.2f}MB {secs:>7.2f} {mib:>9.0f} {code:>5}  "
                  f"{'ok' if ok else 'OVER TARGET'}: {msg[-150:]}", flush=True)
            path.unlink()
    print(f"{bad} of {len(names)} over the target (2 GB, 60 s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
