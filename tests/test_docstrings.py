"""The examples in the public docstrings run and show what they claim."""

from __future__ import annotations

import doctest

import pytest

import progress_instrument

PUBLIC = {"progress_instrument": progress_instrument} | {
    name: getattr(progress_instrument, name) for name in progress_instrument.__all__
}


def examples() -> list[doctest.DocTest]:
    finder = doctest.DocTestFinder(exclude_empty=True)
    found: list[doctest.DocTest] = []
    for name, obj in PUBLIC.items():
        # Public classes say they come from the package, so the finder is told not to filter by module.
        for test in finder.find(obj, name, module=False, globs={}):
            if test.examples and test not in found:
                found.append(test)
    return found


EXAMPLES = examples()


def test_the_public_api_has_examples() -> None:
    """The package, ProgressReport, TreeBuilder and current_report all show an example."""
    names = {test.name.split(".")[0] for test in EXAMPLES}
    assert {"progress_instrument", "ProgressReport", "TreeBuilder", "current_report"} <= names


@pytest.mark.parametrize("test", EXAMPLES, ids=[test.name for test in EXAMPLES])
def test_docstring_example_holds(test: doctest.DocTest) -> None:
    """The example gives the output written under it."""
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    result = runner.run(test)
    assert result.failed == 0
