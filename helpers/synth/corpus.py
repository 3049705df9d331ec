"""`write_corpus`: many organs over years in every form, with planted errors and bad files, atomically written with a manifest."""

from __future__ import annotations

import html as htmlmod
import io
import os
import random
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from ..template import common, get_template
from .forms import ALL_FORMS, render
from .model import (
    Rendered,
    SynthReport,
    _is_number,
    _words,
    perturb,
    random_report,
)

BAD_KINDS = ("empty", "binary", "truncated", "not_a_report", "wrong_charset")


# The manifest of write_corpus: the contract's six columns first, in order, then extras.
MANIFEST_COLUMNS = ["path", "organ", "year", "form", "error_key", "bad_kind", "file", "agency", "template",
                    "error_delta"]


def _atomic_write(path: Path, data: bytes) -> None:
    """Write bytes to a temporary file beside `path`, then rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _bad_file(kind: str, rng: random.Random, good: Rendered) -> tuple[bytes, str]:
    """The bytes and suffix of a bad file of the given kind."""
    if kind == "empty":
        return b"", good.suffix
    if kind == "binary":
        return b"\x89PNG\r\n\x1a\n" + rng.randbytes(2048), good.suffix
    if kind == "truncated":
        return good.data[: max(1, len(good.data) * rng.randint(20, 45) // 100)], good.suffix
    if kind == "not_a_report":
        w = _words()["narrative"]["unrelated_page"]
        body = "".join(f"<p>{htmlmod.escape(x)}</p>" for x in w)
        return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{htmlmod.escape(w[0])}</title></head>"
                f"<body>{body}</body></html>").encode("utf-8"), ".html"
    if kind == "wrong_charset":
        # A page decoded with the wrong charset upstream and saved again: valid UTF-8 mojibake.
        text = good.data.decode("utf-8", errors="replace") if good.suffix == ".html" else ""
        if not text:
            text = "<html><head><meta charset=\"utf-8\"></head><body><p>" + htmlmod.escape(good.meta["agency"]) + \
                   common()["metadata"]["title_suffix"] + "</p></body></html>"
        return text.encode("utf-8").decode("gbk", errors="replace").encode("utf-8"), ".html"
    raise ValueError(f"unknown bad-file kind {kind!r}; known: {', '.join(BAD_KINDS)}")


def write_corpus(out_dir: str | os.PathLike[str], *, reports: int, years: list[int], forms: list[str],
                 error_share: float = 0.0, bad_file_share: float = 0.0, seed: int = 0) -> pd.DataFrame:
    """Write `reports` files: organs × years (each organ reports every year in turn, the same organ
    carrying its numbers over), forms cycling, `error_share` of the good reports with one relation
    cell perturbed, `bad_file_share` bad files. Files are written atomically; the manifest (one row
    per file, MANIFEST_COLUMNS: path, organ, year, form, error_key, bad_kind, then file, agency,
    template, error_delta) is returned and written as manifest.csv in `out_dir`. Half the
    html-images pages have their pictures embedded (`data:` URIs), half saved beside them in
    `NAME_files/`, as a browser saves a page; those folders are no rows of the manifest.
    """
    if reports < 0 or not years or not forms:
        raise ValueError("write_corpus needs reports >= 0, at least one year and at least one form")
    bad_forms = [f for f in forms if f not in ALL_FORMS]
    if bad_forms:
        raise ValueError(f"unknown form(s) {', '.join(bad_forms)}; choose from {', '.join(ALL_FORMS)}")
    rng = random.Random(seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    years = sorted(years)
    slots = [(o, y) for o in range((reports + len(years) - 1) // len(years)) for y in years][:reports]
    n_bad = round(bad_file_share * reports)
    bad_idx = set(rng.sample(range(reports), n_bad)) if n_bad else set()
    good_idx = [i for i in range(reports) if i not in bad_idx]
    n_err = round(error_share * len(good_idx))
    err_idx = set(rng.sample(good_idx, n_err)) if n_err else set()
    previous: dict[int, SynthReport] = {}
    rows = []
    bad_count = 0
    for i, (organ, year) in enumerate(slots):
        form = forms[i % len(forms)]
        template = "2019" if year <= 2020 else "2021"
        rep = random_report(rng.getrandbits(64), template=template, year=year, previous=previous.get(organ),
                            blank_share=rng.choice([0.0, 0.0, 0.05]), placeholder_share=rng.choice([0.0, 0.0, 0.03]),
                            unknown_rows=rng.choice([0, 0, 0, 1]))
        previous[organ] = rep
        error_key, delta = None, None
        if i in err_idx:
            tmpl = get_template(template)
            cands = [k for rel in tmpl.relations for res, plus, minus in rel.instances(tmpl)
                     for k in [res] if all(_is_number(rep.cells[x]) for x in [res, *plus, *minus])]
            if cands:
                error_key = rng.choice(cands)
                value = rep.cells[error_key]
                delta = rng.choice([1, 2, 3, 10])
                delta = -delta if _is_number(value) and value >= delta and rng.random() < 0.5 else delta
                rep = perturb(rep, error_key, delta)
        stem = f"{i:05d}_o{organ:04d}_{year}_{form}"
        options: dict[str, Any] = {}
        if form == "html-images" and rng.random() < 0.5:  # half the pages saved with their pictures beside them
            options = {"embed": False, "folder": f"{stem}_files"}
        rendered = render(rep, form, rng=rng.getrandbits(64), **options)
        data, suffix, bad_kind = rendered.data, rendered.suffix, None
        if i in bad_idx:
            bad_kind = BAD_KINDS[bad_count % len(BAD_KINDS)]
            bad_count += 1
            data, suffix = _bad_file(bad_kind, rng, rendered)
            error_key, delta = None, None
        name = stem + suffix
        _atomic_write(out / name, data)
        for rel, blob in (rendered.meta.get("files") or {}).items() if bad_kind is None else ():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            _atomic_write(out / rel, blob)
        rows.append({"path": str(out / name), "organ": organ, "year": year, "form": form, "error_key": error_key,
                     "bad_kind": bad_kind, "file": name, "agency": rep.agency, "template": template,
                     "error_delta": delta})
    manifest = pd.DataFrame(rows, columns=MANIFEST_COLUMNS)
    buf = io.StringIO()
    manifest.to_csv(buf, index=False)
    _atomic_write(out / "manifest.csv", buf.getvalue().encode("utf-8"))
    return manifest
