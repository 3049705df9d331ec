"""The public API is exactly `helpers.__all__`: listed names exist, nothing else public leaks."""

from __future__ import annotations

import types

import helpers


def test_all_is_sorted_and_complete() -> None:
    assert list(helpers.__all__) == sorted(helpers.__all__)
    for name in helpers.__all__:
        assert hasattr(helpers, name), name
    public = {n for n, v in vars(helpers).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)}
    assert public == set(helpers.__all__) - {"__version__"}


def test_exceptions_share_one_base_and_pickle() -> None:
    import pickle

    for name in helpers.__all__:
        obj = getattr(helpers, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, helpers.OgiError), name
    err = helpers.NotAReport("x.html", "no tables")
    again = pickle.loads(pickle.dumps(err))
    assert str(again) == str(err) and again.path == "x.html"
