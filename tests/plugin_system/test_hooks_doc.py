"""docs/hooks.md carries the hook reference generated from the specs; they must not drift."""

import inspect
from pathlib import Path

from pyframe import hookspecs

DOC = Path(__file__).parents[2] / "docs" / "hooks.md"


def test_hooks_doc_matches_the_specs():
    text = DOC.read_text()
    begin, end = "<!-- hooks:begin -->\n", "<!-- hooks:end -->"
    documented = text[text.index(begin) + len(begin): text.index(end)]
    assert documented == hookspecs.reference_markdown(), (
        "docs/hooks.md is out of date: regenerate the reference part with "
        "pyframe.hookspecs.reference_markdown()")


def test_every_spec_has_a_docstring_that_says_when_and_what():
    specs = [fn for name, fn in vars(hookspecs).items()
             if name.startswith("pyframe_") and inspect.isfunction(fn)]
    assert len(specs) >= 10
    for fn in specs:
        doc = fn.__doc__ or ""
        assert "When:" in doc and ("Returns" in doc or "Return" in doc), fn.__name__
