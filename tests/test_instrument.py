"""`instrument()` / `uninstrument()` (SPEC §5.1) on the stdlib, a PyPI package and modules made on disk."""

from __future__ import annotations

import asyncio
import csv
import doctest
import fractions
import io
import ipaddress
import itertools
import json
import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tabulate

from progress_instrument import ProgressReport, Status, instrument, step, uninstrument

_names = itertools.count()


def job() -> ProgressReport:
    return ProgressReport("job", sinks=[])


def messages(report: ProgressReport) -> list[str]:
    return [child.step_message for child in report.children]


@pytest.fixture
def make_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Write a package with the given modules to tmp_path (on sys.path); return its unique name."""
    made: list[str] = []

    def make(**modules: str) -> str:
        name = f"pi_target_{next(_names)}_{os.getpid()}"
        package = tmp_path / name
        package.mkdir()
        (package / "__init__.py").write_text("")
        for module, source in modules.items():
            (package / f"{module}.py").write_text(textwrap.dedent(source))
        made.append(name)
        return name

    monkeypatch.syspath_prepend(str(tmp_path))
    yield make
    for name in list(sys.modules):
        if name.split(".")[0] in made:
            del sys.modules[name]


MODELS = """
    def load(path):
        '''Load a dataset.'''
        return f"loaded {path}"

    def pipeline(path):
        return load(path)

    class Base:
        def fit(self, data):
            return sum(data)

    class Model(Base):
        def predict(self, x):
            return x * 2

        @classmethod
        def build(cls):
            return cls()

        @staticmethod
        def scale(x):
            return x * 10
"""


class TestTargets:
    def test_both_spellings_name_one_target(self) -> None:
        """'json.dumps' and 'json:dumps' are the same target: the second instrument() is a no-op."""
        instrument("json.dumps", "first")
        instrument("json:dumps", "second")
        with job() as root:
            json.dumps([1])
        assert messages(root) == ["first"]

    @pytest.mark.parametrize("target", ["json", "json:", ":dumps", "json.1dumps", "json:dumps.", ""])
    def test_a_malformed_target_is_a_value_error_naming_it(self, target: str) -> None:
        """A target that is not a dotted path in one of the two forms is rejected at the call."""
        with pytest.raises(ValueError, match="cannot instrument"):
            instrument(target)

    def test_a_target_must_be_a_string(self) -> None:
        """Passing the function itself is a TypeError: use @reports_progress for that."""
        with pytest.raises(TypeError, match="'module:qualname' string"):
            instrument(json.dumps)  # type: ignore[arg-type]

    def test_a_missing_attribute_of_an_imported_module_fails_at_the_call(self) -> None:
        """The error names the target and the part that is missing; nothing is patched."""
        with pytest.raises(AttributeError, match=r"cannot instrument 'json:JSONEncoder\.nope': .*'nope'"):
            instrument("json:JSONEncoder.nope")
        with pytest.raises(AttributeError, match=r"'json:dumpz': json has no attribute 'dumpz'"):
            instrument("json.dumpz")

    def test_a_method_written_with_dots_only_gets_the_colon_form_suggested(self) -> None:
        """'json.JSONEncoder.encode' names no module; the error says to write 'json:JSONEncoder.encode'."""
        with pytest.raises(ValueError, match=r"write 'json:JSONEncoder\.encode'"):
            instrument("json.JSONEncoder.encode")

    @pytest.mark.parametrize(
        ("target", "what"), [("csv:DictReader", "a class"), ("json:__all__", "a list"), ("os.path", "a module")]
    )
    def test_what_is_not_a_function_is_a_type_error(self, target: str, what: str) -> None:
        """Classes, constants and modules are not instrumented (a class would stop being a class)."""
        with pytest.raises(TypeError, match=what):
            instrument(target)

    @pytest.mark.parametrize("kwargs", [{"steps": -1}, {"steps": True}, {"message": 3}, {"param": 3}])
    def test_bad_options_are_rejected(self, kwargs: dict[str, Any]) -> None:
        """steps, message and param are checked like @reports_progress checks them."""
        with pytest.raises((TypeError, ValueError)):
            instrument("json.dumps", **kwargs)
        assert not hasattr(json.dumps, "__wrapped__")


class TestStandardLibraryAndPyPI:
    def test_an_instrumented_call_nests_under_the_users_step(self) -> None:
        """json.dumps called inside a step becomes that step's child, with its return value intact."""
        instrument("json.dumps", "Serializing", steps=0)
        with job() as root:
            with step("Export"):
                text = json.dumps({"a": 1})
        assert text == '{"a": 1}'
        export = root.children[0]
        assert messages(export) == ["Serializing"]
        assert export.children[0].status is Status.SUCCESS

    def test_the_default_message_is_the_docstrings_first_line(self) -> None:
        """As for @reports_progress: the docstring's first line names the report."""
        instrument("json.dumps")
        with job() as root:
            json.dumps(1)
        assert messages(root) == ["Serialize ``obj`` to a JSON formatted ``str``."]

    def test_a_failing_call_finishes_error_and_raises_the_same_exception(self) -> None:
        """A TypeError from json.dumps marks its report error and reaches the caller unchanged."""
        instrument("json.dumps", "Serializing")
        with job() as root, pytest.raises(TypeError, match="not JSON serializable"):
            json.dumps(object())
        assert root.children[0].status is Status.ERROR
        assert root.children[0].error is not None and root.children[0].error.startswith("TypeError:")

    def test_a_call_outside_any_report_is_a_root(self) -> None:
        """With no current report the instrumented call is a root with the configured sinks."""
        from progress_instrument import configure

        events: list[dict[str, Any]] = []
        configure(sinks=[events.append])
        instrument("json.dumps", "Serializing")
        json.dumps([1])
        assert (events[0]["event"], events[0]["step_message"], events[0]["parent_id"]) == ("start", "Serializing", None)

    def test_methods_are_reached_through_instances_made_before_and_after(self) -> None:
        """Patching JSONEncoder.encode in the class reaches an encoder made before and one made after."""
        before = json.JSONEncoder()
        instrument("json:JSONEncoder.encode", "Encoding")
        after = json.JSONEncoder(indent=1)
        with job() as root:
            assert before.encode([1]) == "[1]"
            assert after.encode([1]) == "[\n 1\n]"
        assert messages(root) == ["Encoding", "Encoding"]

    def test_csv_writer_methods_are_reached_for_old_and_new_writers(self) -> None:
        """csv.DictWriter.writerow instrumented: a writer made before and one made after both report."""
        early_out, late_out = io.StringIO(), io.StringIO()
        early = csv.DictWriter(early_out, ["a"])
        instrument("csv:DictWriter.writerow", "Writing row")
        late = csv.DictWriter(late_out, ["a"])
        with job() as root:
            early.writerow({"a": 1})
            late.writerow({"a": 2})
        assert (early_out.getvalue(), late_out.getvalue()) == ("1\r\n", "2\r\n")
        assert messages(root) == ["Writing row", "Writing row"]

    def test_a_classmethod_and_an_inherited_staticmethod(self) -> None:
        """Fraction.from_float (classmethod) and _BaseNetwork._is_subnet_of (staticmethod) report."""
        instrument("fractions:Fraction.from_float", "From float")
        instrument("ipaddress:_BaseNetwork._is_subnet_of", "Subnet test")
        with job() as root:
            assert fractions.Fraction.from_float(0.5) == fractions.Fraction(1, 2)
            assert ipaddress.ip_network("10.0.0.0/24").subnet_of(ipaddress.ip_network("10.0.0.0/8"))
        assert messages(root) == ["From float", "Subnet test"]

    def test_calls_inside_a_third_party_package_nest(self) -> None:
        """tabulate.tabulate calls _normalize_tabular_data by its global name: both report, nested."""
        instrument("tabulate:tabulate", "Formatting table")
        instrument("tabulate._normalize_tabular_data", "Normalizing")
        with job() as root:
            table = tabulate.tabulate([[1, 2]], headers=["a", "b"])
        assert table.splitlines()[-1].split() == ["1", "2"]
        (formatting,) = root.children
        assert formatting.step_message == "Formatting table"
        assert messages(formatting) == ["Normalizing"]

    def test_a_name_bound_before_is_not_reached_but_one_bound_after_is(self) -> None:
        """`from json import dumps` done earlier keeps the original; done after, it gets the wrapper."""
        from json import dumps as bound_before

        instrument("json.dumps", "Serializing")
        from json import dumps as bound_after

        with job() as root:
            bound_before(1)
            bound_after(2)
        assert messages(root) == ["Serializing"]

    def test_a_builtin_function_can_be_instrumented(self) -> None:
        """A C function (csv.reader, bound from _csv) reports too; _csv.reader itself is untouched."""
        import _csv

        instrument("csv.reader", "Reader")
        with job() as root:
            assert list(csv.reader(["x,y"])) == [["x", "y"]]
            _csv.reader(["x"])
        assert messages(root) == ["Reader"]


class TestUninstrument:
    def test_a_function_is_restored_by_identity(self) -> None:
        """After uninstrument, json.dumps is the very object it was."""
        original = json.dumps
        instrument("json.dumps")
        assert json.dumps is not original
        uninstrument("json:dumps")
        assert json.dumps is original

    def test_method_descriptors_are_restored_by_identity(self) -> None:
        """The class __dict__ holds the original function, classmethod and staticmethod objects again."""
        targets = {
            "json:JSONEncoder.encode": (json.JSONEncoder, "encode"),
            "fractions:Fraction.from_float": (fractions.Fraction, "from_float"),
            "ipaddress:_BaseNetwork._is_subnet_of": (ipaddress._BaseNetwork, "_is_subnet_of"),
        }
        originals = {target: vars(owner)[name] for target, (owner, name) in targets.items()}
        for target in targets:
            instrument(target)
        for target, (owner, name) in targets.items():
            assert vars(owner)[name] is not originals[target]
            uninstrument(target)
            assert vars(owner)[name] is originals[target]
        assert isinstance(vars(fractions.Fraction)["from_float"], classmethod)

    def test_an_inherited_method_patched_on_the_subclass_is_removed(self) -> None:
        """Instrumenting IPv4Network._is_subnet_of shadows the base's; uninstrument deletes the shadow."""
        assert "_is_subnet_of" not in vars(ipaddress.IPv4Network)
        instrument("ipaddress:IPv4Network._is_subnet_of", "Subnet test")
        assert "_is_subnet_of" in vars(ipaddress.IPv4Network)
        with job() as root:
            ipaddress.ip_network("10.0.0.0/24").subnet_of(ipaddress.ip_network("10.0.0.0/8"))
            ipaddress.ip_network("::/64").subnet_of(ipaddress.ip_network("::/32"))
        assert messages(root) == ["Subnet test"]  # IPv6 networks are not IPv4Network
        uninstrument("ipaddress:IPv4Network._is_subnet_of")
        assert "_is_subnet_of" not in vars(ipaddress.IPv4Network)

    def test_instrumenting_twice_then_uninstrumenting_once_restores(self) -> None:
        """The second instrument() is a no-op, so one uninstrument() gets the original back."""
        original = json.dumps
        instrument("json.dumps")
        wrapper = json.dumps
        instrument("json.dumps", "other")
        assert json.dumps is wrapper
        uninstrument("json.dumps")
        assert json.dumps is original

    def test_uninstrumenting_what_is_not_instrumented_is_a_no_op(self) -> None:
        """Nothing changes and nothing is raised; a malformed target still is an error."""
        original = json.dumps
        uninstrument("json.dumps")
        assert json.dumps is original
        with pytest.raises(ValueError):
            uninstrument("json")

    def test_a_copy_bound_while_instrumented_stops_reporting(self) -> None:
        """`from json import dumps` taken while instrumented keeps the wrapper, which goes inert."""
        instrument("json.dumps", "Serializing")
        from json import dumps as copied

        uninstrument("json.dumps")
        with job() as root:
            assert copied([1]) == "[1]"
        assert messages(root) == []

    def test_a_patch_replaced_by_someone_else_is_left_alone(self) -> None:
        """When another tool replaced our wrapper, uninstrument leaves theirs in place."""
        original = json.dumps
        instrument("json.dumps")

        def theirs(obj: Any, **kwargs: Any) -> str:
            return "theirs"

        json.dumps = theirs
        try:
            uninstrument("json.dumps")
            assert json.dumps is theirs
        finally:
            json.dumps = original

    def test_an_instrumented_function_that_already_reports_is_left_as_is(self, make_package: Any) -> None:
        """A function decorated with @reports_progress gets no second report from instrument()."""
        name = make_package(
            work="""
            from progress_instrument import reports_progress

            @reports_progress("Decorated")
            def run():
                return 1
            """
        )
        module = __import__(f"{name}.work", fromlist=["run"])
        decorated = module.run
        instrument(f"{name}.work:run", "Instrumented")
        assert module.run is decorated
        with job() as root:
            module.run()
        assert messages(root) == ["Decorated"]
        uninstrument(f"{name}.work:run")
        assert module.run is decorated


class TestBeforeImport:
    def test_a_module_imported_later_is_instrumented_when_it_is_imported(self, make_package: Any) -> None:
        """instrument() on a module not imported yet patches it the moment it is imported."""
        name = make_package(models=MODELS)
        instrument(f"{name}.models:load")
        instrument(f"{name}.models:Model.predict", "Predicting")
        assert f"{name}.models" not in sys.modules
        models = __import__(f"{name}.models", fromlist=["load"])
        with job() as root:
            assert models.pipeline("a.nc") == "loaded a.nc"
            assert models.Model().predict(2) == 4
        assert messages(root) == ["Load a dataset.", "Predicting"]

    def test_every_kind_of_method_in_a_module_imported_later(self, make_package: Any) -> None:
        """Inherited method (shadowed on the subclass), classmethod and staticmethod; all restored after."""
        name = make_package(models=MODELS)
        targets = [f"{name}.models:Model.fit", f"{name}.models:Model.build", f"{name}.models:Model.scale"]
        for target in targets:
            instrument(target)
        models = __import__(f"{name}.models", fromlist=["Model"])
        with job() as root:
            model = models.Model.build()
            assert model.fit([1, 2]) == 3
            assert models.Model.scale(2) == 20 and model.scale(1) == 10
        assert messages(root) == ["Model.build", "Base.fit", "Model.scale", "Model.scale"]
        for target in targets:
            uninstrument(target)
        assert "fit" not in vars(models.Model)  # the shadow on the subclass is gone, Base.fit untouched
        assert type(vars(models.Base)["fit"]).__name__ == "function"
        assert type(vars(models.Model)["build"]) is classmethod
        assert type(vars(models.Model)["scale"]) is staticmethod

    def test_from_import_in_a_module_imported_afterwards_is_reached(self, make_package: Any) -> None:
        """Instrument before import: a user module's `from pkg.models import load` binds the wrapper."""
        name = make_package(models=MODELS)
        (Path(sys.path[0]) / name / "user.py").write_text(
            f"from {name}.models import load\n\ndef use():\n    return load('x')\n"
        )
        instrument(f"{name}.models:load", "Loading")
        user = __import__(f"{name}.user", fromlist=["use"])
        with job() as root:
            user.use()
        assert messages(root) == ["Loading"]

    def test_from_import_done_before_instrumenting_is_not_reached(self, make_package: Any) -> None:
        """A user module imported first keeps the original it bound; the module's own name is patched."""
        name = make_package(models=MODELS)
        (Path(sys.path[0]) / name / "user.py").write_text(
            f"from {name}.models import load\n\ndef use():\n    return load('x')\n"
        )
        user = __import__(f"{name}.user", fromlist=["use"])
        instrument(f"{name}.models:load", "Loading")
        models = sys.modules[f"{name}.models"]
        with job() as root:
            user.use()
            models.load("y")
        assert messages(root) == ["Loading"]

    def test_a_missing_target_warns_at_import_and_the_import_succeeds(self, make_package: Any) -> None:
        """A RuntimeWarning names the target, points at the instrument() call; the module still imports."""
        name = make_package(models=MODELS)
        instrument(f"{name}.models:Model.nope")
        line = sys._getframe().f_lineno - 1
        instrument(f"{name}.models:load", "Loading")
        with pytest.warns(RuntimeWarning, match=rf"could not instrument .*'{name}\.models:Model\.nope'") as caught:
            models = __import__(f"{name}.models", fromlist=["load"])
        assert (caught[0].filename, caught[0].lineno) == (__file__, line)
        assert "has no attribute 'nope'" in str(caught[0].message)
        with job() as root:
            models.load("a")
        assert messages(root) == ["Loading"]  # the other target of the module still applies
        instrument(f"{name}.models:load")  # the failed one was forgotten; the good one stays
        with pytest.raises(AttributeError, match="nope"):
            instrument(f"{name}.models:Model.nope")

    def test_uninstrument_before_import_cancels(self, make_package: Any) -> None:
        """A target uninstrumented before its module is imported leaves the module untouched."""
        name = make_package(models=MODELS)
        instrument(f"{name}.models:load")
        uninstrument(f"{name}.models:load")
        models = __import__(f"{name}.models", fromlist=["load"])
        assert not hasattr(models.load, "__wrapped__")

    def test_instrument_again_after_cancelling_before_import(self, make_package: Any) -> None:
        """Instrument, uninstrument, instrument again, then import: patched once, with the last message."""
        name = make_package(models=MODELS)
        instrument(f"{name}.models:load", "first")
        uninstrument(f"{name}.models:load")
        instrument(f"{name}.models:load", "second")
        models = __import__(f"{name}.models", fromlist=["load"])
        with job() as root:
            models.load("a")
        assert messages(root) == ["second"]


def run_python(code: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=cwd,
        timeout=60,
    )


class TestEnvironment:
    def test_targets_apply_when_the_package_is_imported(self) -> None:
        """PROGRESS_INSTRUMENT_TARGETS instruments json.dumps (imported) and tabulate (imported later)."""
        result = run_python(
            """
            import json, sys
            import progress_instrument
            assert "tabulate" not in sys.modules
            import tabulate
            with progress_instrument.ProgressReport("job", sinks=[]) as root:
                json.dumps(1)
                tabulate.tabulate([[1]])
            print([child.step_message for child in root.children])
            """,
            {"PROGRESS_INSTRUMENT_TARGETS": "json.dumps, tabulate:tabulate,"},
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == repr(
            ["Serialize ``obj`` to a JSON formatted ``str``.", "Format a fixed width table for pretty printing."]
        )

    def test_a_bad_target_warns_and_the_others_still_apply(self) -> None:
        """A malformed or missing target in the variable warns, naming it; importing never fails."""
        result = run_python(
            """
            import json
            import progress_instrument
            print(hasattr(json.dumps, "__wrapped__"))
            """,
            {"PROGRESS_INSTRUMENT_TARGETS": "json.nope,json,json.dumps"},
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "True"
        assert "PROGRESS_INSTRUMENT_TARGETS: cannot instrument 'json:nope'" in result.stderr
        assert "PROGRESS_INSTRUMENT_TARGETS: cannot instrument 'json'" in result.stderr

    def test_unset_it_costs_no_import(self) -> None:
        """Without the variable, importing the package loads neither the instrument module nor wrapt."""
        result = run_python(
            "import sys, progress_instrument\n"
            "print(sorted(m for m in ('progress_instrument._instrument', 'wrapt') if m in sys.modules))",
            {"PROGRESS_INSTRUMENT_TARGETS": ""},
        )
        assert result.stdout.strip() == "[]", result.stderr


class TestDocumented:
    def test_a_dunder_method_is_reached_through_the_type_slot(self) -> None:
        """csv.DictReader.__next__ instrumented: next() on a reader made before reports."""
        reader = csv.DictReader(io.StringIO("a\n1\n"))
        instrument("csv:DictReader.__next__", "Row")
        with job() as root:
            assert next(reader) == {"a": "1"}
        assert messages(root) == ["Row"]

    def test_an_import_time_warning_made_an_error_fails_that_import(self, make_package: Any) -> None:
        """With the warning filtered to "error", importing the module raises it, as the docs say."""
        name = make_package(models=MODELS)
        instrument(f"{name}.models:nope")
        with warnings.catch_warnings():
            warnings.filterwarnings("error", "progress_instrument could not instrument")
            with pytest.raises(RuntimeWarning, match="nope"):
                __import__(f"{name}.models")
        assert f"{name}.models" not in sys.modules

    def test_the_docs_example_runs(self) -> None:
        """The example of docs/instrument.md gives the output written under it."""
        text = (Path(__file__).parents[1] / "docs" / "instrument.md").read_text()
        example = text.split("```pycon\n", 1)[1].split("```", 1)[0]
        test = doctest.DocTestParser().get_doctest(example, {}, "docs/instrument.md", None, 0)
        assert doctest.DocTestRunner().run(test).failed == 0

    def test_a_coroutine_function_reports_around_its_await(self, make_package: Any) -> None:
        """An async function instrumented from outside reports when awaited, nested under the caller's step."""
        name = make_package(
            fetch="""
            import asyncio

            async def fetch(x):
                await asyncio.sleep(0)
                return x + 1
            """
        )
        instrument(f"{name}.fetch:fetch", "Fetching")
        module = __import__(f"{name}.fetch", fromlist=["fetch"])

        async def main() -> int:
            with step("Download"):
                return int(await module.fetch(1))

        with job() as root:
            assert asyncio.run(main()) == 2
        assert messages(root.children[0]) == ["Fetching"]

    def test_a_module_still_being_imported_gets_an_accurate_warning(self, make_package: Any) -> None:
        """The environment naming a module that imports progress_instrument first warns saying so."""
        name = make_package(
            early="""
            import progress_instrument

            def later():
                return 1
            """
        )
        result = run_python(
            f"import {name}.early as early\nprint(hasattr(early.later, '__wrapped__'))",
            {"PROGRESS_INSTRUMENT_TARGETS": f"{name}.early:later", "PYTHONPATH": sys.path[0]},
        )
        assert result.stdout.strip() == "False"
        assert f"{name}.early is still being imported" in result.stderr

    def test_disabled_instrumentation_passes_calls_straight_through(self) -> None:
        """With instrumentation disabled the patched function makes no report and returns as before."""
        from progress_instrument import configure, current_report

        events: list[dict[str, Any]] = []
        instrument("json.dumps", "Serializing")
        configure(enabled=False, sinks=[events.append])
        assert json.dumps([1]) == "[1]"
        assert (events, current_report()) == ([], None)
        configure(enabled=True)
        with job() as root:
            json.dumps([1])
        assert messages(root) == ["Serializing"]
