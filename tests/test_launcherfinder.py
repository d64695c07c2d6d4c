"""The launcher finder: the spec grammar, its error messages, matching, and find_launcher over launchers.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from xpm_core.builtin.local.direct_launcher import DirectLauncher
from xpm_core.launcherfinder import (
    AcceleratorSpecification,
    CPUSpecification,
    CudaSpecification,
    HostSimpleRequirement,
    HostSpecification,
    LauncherNotFoundError,
    LaunchersFileError,
    MPSSpecification,
    RequirementSpecError,
    RequirementUnion,
    config_directory,
    cpu,
    cuda,
    cuda_gpu,
    duration,
    find_launcher,
    gpu,
    mps,
    parse,
)
from xpm_core.launcherfinder.units import format_size, parse_duration, parse_size

GB = 10**9
GiB = 2**30
MB = 10**6
MiB = 2**20
HOUR = 3600
DAY = 86400


def only(spec: str) -> HostSimpleRequirement:
    """The single alternative of ``spec``."""
    (requirement,) = parse(spec).requirements
    return requirement


# ---- reference §5.4: the examples verified on experimaestro 2.7.0 ---------------------------


def test_reference_example_cuda_and_cpu():
    requirement = only("cuda(mem=4G) & cpu(cores=2)")
    assert requirement.cpu == CPUSpecification(memory=0, cores=2)
    assert requirement.accelerators == (CudaSpecification(memory=4 * GB),)
    assert round(requirement.accelerators[0].memory / GiB, 2) == 3.73  # "CUDA(3.73 GiB)"
    assert requirement.duration == 0


def test_reference_example_duration_two_gpus_and_cpu():
    requirement = only("duration=4 days & cuda(mem=4G) * 2 & cpu(mem=400M, cores=4)")
    assert requirement.accelerators == (CudaSpecification(memory=4 * GB),) * 2
    assert requirement.cpu == CPUSpecification(memory=400 * MB, cores=4)
    assert round(requirement.cpu.memory / MiB, 2) == 381.47  # "CPU(381.47 MiB, 4 cores)"
    assert requirement.duration == 345600


def test_alternatives_keep_their_order():
    union = parse("duration=4 days & cuda(mem=4G) * 2 & cpu(mem=400M, cores=4) | cpu(cores=8)")
    assert isinstance(union, RequirementUnion)
    first, second = union.requirements
    assert len(first.accelerators) == 2
    assert second == HostSimpleRequirement(cpu=CPUSpecification(cores=8))


# ---- the grammar -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, size",
    [
        ("4G", 4 * GB),
        ("4GiB", 4 * GiB),
        ("4Gi", 4 * GiB),
        ("4GB", 4 * GB),
        ("4gb", 4 * GB),
        ("400M", 400 * MB),
        ("512MiB", 512 * MiB),
        ("1.5G", 1_500_000_000),
        ("0.3G", 300_000_000),
        ("2T", 2 * 10**12),
        ("64K", 64_000),
        ("4 GiB", 4 * GiB),
    ],
)
def test_memory_units(text, size):
    assert only(f"cpu(mem={text})").cpu.memory == size
    assert only(f"gpu(mem={text})").accelerators[0].memory == size


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("4 days", 4 * DAY),
        ("1d", DAY),
        ("1day", DAY),
        ("40h", 40 * HOUR),
        ("2 hours", 2 * HOUR),
        ("1hour", HOUR),
        ("3hrs", 3 * HOUR),
        ("10m", 600),
        ("90 min", 5400),
        ("5mins", 300),
        ("2 minutes", 120),
        ("30s", 30),
        ("45 sec", 45),
        ("10 seconds", 10),
        ("1.5h", 5400),
        ("1w", 7 * DAY),
        ("2 weeks", 14 * DAY),
        ("4H", 4 * HOUR),
    ],
)
def test_duration_units(text, seconds):
    assert only(f"duration={text}").duration == seconds


def test_whitespace_does_not_matter():
    compact = parse("duration=4days&cuda(mem=4G)*2&cpu(mem=400M,cores=4)|cpu(cores=8)")
    spaced = parse("  duration = 4 days &\n cuda( mem = 4G ) * 2 & cpu ( mem = 400M , cores = 4 )\n|\tcpu(cores=8) ")
    assert compact == spaced


def test_cpu_memory_alone_means_one_core_and_no_cpu_item_means_none():
    assert only("cpu(mem=4G)").cpu == CPUSpecification(memory=4 * GB, cores=1)
    assert only("cuda(mem=4G)").cpu == CPUSpecification(memory=0, cores=0)


def test_conjunction_takes_the_largest_cpu_and_duration_and_all_accelerators():
    requirement = only("cpu(mem=8G) & cpu(cores=4) & duration=1h & duration=2h & gpu(mem=1G) & cuda(mem=2G)")
    assert requirement.cpu == CPUSpecification(memory=8 * GB, cores=4)
    assert requirement.duration == 2 * HOUR
    # largest memory first
    assert requirement.accelerators == (CudaSpecification(memory=2 * GB), AcceleratorSpecification(memory=GB))


def test_accelerator_kinds_and_empty_accelerator_arguments():
    assert only("mps(mem=8G)").accelerators == (MPSSpecification(memory=8 * GB),)
    assert only("gpu(mem=8G)").accelerators == (AcceleratorSpecification(memory=8 * GB),)
    # experimaestro documents cuda() but its parser rejects it; here it is one GPU of any size
    assert only("cuda()").accelerators == (CudaSpecification(memory=0),)
    assert only("gpu() * 3").accelerators == (AcceleratorSpecification(),) * 3


@pytest.mark.parametrize(
    "spec",
    [
        "duration=4d & cuda(mem=4G) * 2 & cpu(mem=400M, cores=4) | cpu(cores=8)",
        "mps(mem=16GiB) & gpu(mem=1536MiB) * 3 & cpu(mem=1G, cores=1)",
        "duration=90min & cuda()",
        "duration=45s & cpu(mem=300B, cores=1)",
    ],
)
def test_str_is_a_spec_that_reads_back(spec):
    union = parse(spec)
    assert str(union) == spec
    assert parse(str(union)) == union


def test_python_constructors_build_what_the_grammar_builds():
    assert cuda(mem="4G") * 2 & cpu(cores=2) & duration("4 days") == only("cuda(mem=4G)*2 & cpu(cores=2) & duration=4d")
    assert 2 * mps(mem="1G") == only("mps(mem=1G) * 2")
    assert gpu() == only("gpu()")
    assert cuda_gpu(mem=4 * GB) == cuda(mem="4G")
    assert (cpu(cores=2) | cuda()).requirements == (cpu(cores=2), cuda())


def test_python_constructors_reject_what_the_grammar_rejects():
    with pytest.raises(ValueError, match=r"cpu\(\) needs mem= or cores="):
        cpu()
    with pytest.raises(ValueError, match="has no unit; write e.g. 4G or 4GiB"):
        cpu(mem="4")
    with pytest.raises(ValueError, match="at least 1"):
        cuda() * 0
    with pytest.raises(ValueError, match="has no unit"):
        duration("4")


def test_sizes_and_durations_given_as_strings_to_specifications():
    assert CudaSpecification(memory="24GiB").memory == 24 * GiB
    assert parse_size(123) == 123
    assert parse_duration(1.2) == 2
    assert format_size(24 * GiB) == "24GiB" and format_size(4 * GB) == "4G" and format_size(1) == "1B"
    assert HostSpecification(max_duration="2 days").max_duration == 2 * DAY


# ---- error messages --------------------------------------------------------------------------


def error_of(spec: str) -> RequirementSpecError:
    with pytest.raises(RequirementSpecError) as caught:
        parse(spec)
    return caught.value


def test_missing_equals_message():
    assert str(error_of("cpu(mem 4G)")) == (
        'invalid requirement spec: expected "=" after "mem" (column 9)\n'
        "  cpu(mem 4G)\n"
        "          ^"
    )


def test_memory_without_unit_message():
    assert str(error_of("cuda(mem=4) * 2")) == (
        "invalid requirement spec: mem=4 needs a unit, e.g. mem=4G or mem=4GiB (column 10)\n"
        "  cuda(mem=4) * 2\n"
        "           ^"
    )


def test_empty_cpu_message():
    assert str(error_of("cuda(mem=4G) & cpu()")) == (
        "invalid requirement spec: cpu() needs mem= or cores=, e.g. cpu(cores=4) or cpu(mem=8G, cores=4) "
        "(column 16)\n"
        "  cuda(mem=4G) & cpu()\n"
        "                 ^"
    )


def test_missing_operator_message():
    assert str(error_of("duration=4 days cpu(cores=2)")) == (
        'invalid requirement spec: expected "&", "|" or the end of the spec after "days" (column 17)\n'
        "  duration=4 days cpu(cores=2)\n"
        "                  ^"
    )


@pytest.mark.parametrize(
    "spec, reason, column",
    [
        ("cpu(mem=4G cores=4)", 'expected "," or ")" after "4G"', 12),
        ("cpu(foo)", 'expected "mem=" or "cores=" after "("', 5),
        ("cuda(cores=2)", 'expected "mem=" or ")" after "("', 6),
        ("cuda(mem=4G) * ", 'expected a number after "*"', 16),
        ("cpu(cores=2) & & cuda()", 'expected duration=..., cpu(...), cuda(...), mps(...) or gpu(...) after "&"', 16),
        ("foo", "expected duration=..., cpu(...), cuda(...), mps(...) or gpu(...)", 1),
        ("cudas(mem=4G)", 'expected "(" after "cuda"', 5),
        ("duration 4h", 'expected "=" after "duration"', 10),
        ("duration=4", "duration=4 needs a unit (s, min, h, d or w), e.g. duration=4h", 10),
        ("duration=4 years", 'expected a time unit (s, min, h, d or w), "&" or "|" after "4"', 12),
        ("cuda(mem=4G) * 0", "the count after * must be a whole number of at least 1, not 0", 16),
        ("cpu(cores=2.5)", "cores must be a whole number of at least 1, not 2.5", 11),
        ("cpu(cores=2, cores=3)", "cores= is given twice in cpu(...)", 14),
        ("cpu(mem=4G)*2", 'expected "&", "|" or the end of the spec after ")"', 12),
    ],
)
def test_error_reasons_and_columns(spec, reason, column):
    error = error_of(spec)
    assert (error.reason, error.column) == (reason, column)
    # The caret sits under the column the message names.
    assert str(error).splitlines()[-1] == "  " + " " * (column - 1) + "^"


def test_error_on_a_later_line_shows_that_line():
    error = error_of("cpu(cores=2)\n& cuda(mem=3G\n| gpu()")
    assert str(error).splitlines() == [
        'invalid requirement spec: expected "," or ")" after "3G" (line 3, column 1)',
        "  | gpu()",
        "  ^",
    ]


def test_empty_spec_message():
    assert str(error_of("  ")) == "invalid requirement spec: the spec is empty; write e.g. cpu(cores=4) or cuda(mem=16G)"


def test_spec_errors_are_value_errors():
    assert isinstance(error_of("cpu()"), ValueError)


# ---- matching --------------------------------------------------------------------------------


def host(**kwargs) -> HostSpecification:
    kwargs.setdefault("cpu", CPUSpecification(memory=64 * GB, cores=16))
    return HostSpecification(**kwargs)


GPU_HOST = host(accelerators=[CudaSpecification(memory=24 * GiB), CudaSpecification(memory=8 * GiB)], priority=3)


@pytest.mark.parametrize(
    "spec, fits",
    [
        ("cuda(mem=16G)", True),
        ("cuda(mem=16G) & cuda(mem=8GiB)", True),
        ("cuda(mem=16G) * 2", False),  # the second device has 8 GiB
        ("cuda(mem=8GiB) * 2", True),
        ("cuda() * 3", False),  # only two devices
        ("cuda(mem=30G)", False),
        ("gpu(mem=20G)", True),  # any kind
        ("mps(mem=1G)", False),  # wrong kind
        ("cpu(mem=64G, cores=16)", True),
        ("cpu(mem=65G)", False),
        ("cpu(cores=17)", False),
    ],
)
def test_matching_a_host(spec, fits):
    match = parse(spec).match(GPU_HOST)
    assert (match is not None) == fits
    if fits:
        assert match.score == 3


def test_min_memory_keeps_big_devices_for_big_requests():
    big_only = host(accelerators=[CudaSpecification(memory=80 * GiB, min_memory=40 * GiB)])
    assert parse("cuda(mem=48GiB)").match(big_only)
    assert parse("cuda(mem=16GiB)").match(big_only) is None


def test_min_gpu_refuses_requirements_with_fewer_accelerators():
    gpu_partition = host(accelerators=[CudaSpecification(memory=24 * GiB)] * 4, min_gpu=1)
    assert parse("cpu(cores=2)").match(gpu_partition) is None
    assert parse("cuda() & cpu(cores=2)").match(gpu_partition)


def test_max_duration():
    short = host(max_duration=2 * HOUR)
    assert parse("duration=2h & cpu(cores=1)").match(short)
    assert parse("duration=121min & cpu(cores=1)").match(short) is None
    assert parse("duration=100d & cpu(cores=1)").match(host())  # 0: no limit


def test_unified_memory_counts_in_the_host_memory():
    mac = HostSpecification(cpu=CPUSpecification(memory=16 * GB, cores=8), accelerators=[MPSSpecification(memory=16 * GB)])
    assert parse("mps(mem=8G) & cpu(mem=8G)").match(mac)
    assert parse("mps(mem=10G) & cpu(mem=8G)").match(mac) is None
    # a generic request served by the Apple GPU uses unified memory just the same
    assert parse("gpu(mem=10G) & cpu(mem=8G)").match(mac) is None
    assert parse("cuda(mem=1G)").match(mac) is None


def test_union_returns_the_first_fitting_alternative_in_priority_order():
    union = parse("cuda(mem=40G) | cuda(mem=16G) * 2 | cuda(mem=16G) | cpu(cores=1)")
    match = union.match(GPU_HOST)
    assert match.requirement == only("cuda(mem=16G)")
    assert parse("cuda(mem=40G) | cpu(cores=99)").match(GPU_HOST) is None


def test_union_keeps_the_best_score():
    # Alternatives matched on one host share its priority; scores differ across hosts, which is
    # how a launchers.py compares them.
    union = parse("cuda(mem=16G) | cpu(cores=1)")
    scores = {name: union.match(h).score for name, h in [("gpu", GPU_HOST), ("cpu", host(priority=-1))]}
    assert scores == {"gpu": 3, "cpu": -1}


def test_multiply_duration_rounds_up_and_keeps_the_rest():
    union = parse("duration=1h & cuda(mem=4G) | duration=10s & cpu(cores=2)")
    doubled = union.multiply_duration(1.55)
    assert [r.duration for r in doubled.requirements] == [5580, 16]
    assert [r.accelerators for r in doubled.requirements] == [r.accelerators for r in union.requirements]


def test_experimaestro_cuda_names():
    legacy = HostSpecification(cuda=[CudaSpecification(memory=8 * GiB)], cpu=CPUSpecification(memory=GB, cores=2))
    assert legacy.accelerators == (CudaSpecification(memory=8 * GiB),)
    assert legacy.cuda == legacy.accelerators
    match = parse("cuda(mem=4G) * 1 & gpu()").match(host(accelerators=legacy.accelerators * 2))
    assert match.requirement.cuda_gpus == (CudaSpecification(memory=4 * GB),)


# ---- find_launcher ---------------------------------------------------------------------------

LAUNCHERS_PY = """
from xpm_core.builtin.local.direct_launcher import DirectLauncher
from xpm_core.launcherfinder import CPUSpecification, CudaSpecification, HostRequirement, HostSpecification

CALLS = []

GPU = HostSpecification(cuda=[CudaSpecification(memory="24GiB")] * 2, cpu=CPUSpecification(memory="64G", cores=16))
CPU = HostSpecification(cpu=CPUSpecification(memory="16G", cores=4), max_duration="1d")


def find_launcher(requirement: HostRequirement, tags: set[str]):
    CALLS.append((str(requirement), tags))
    if "nowhere" in tags:
        return None
    if (match := requirement.match(GPU)) and match.requirement.cuda_gpus:
        return DirectLauncher(max_running=len(match.requirement.cuda_gpus))
    if requirement.match(CPU):
        return DirectLauncher(max_running=1)
    return None
"""


@pytest.fixture
def config_dir(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XPM_CONFIG_DIR", str(tmp_path))
    (tmp_path / "launchers.py").write_text(LAUNCHERS_PY)
    return tmp_path


def calls(config_dir: Path) -> list:
    """What the find_launcher of LAUNCHERS_PY was called with (its module is in sys.modules)."""
    path = str(config_dir / "launchers.py")
    return next(module for module in list(sys.modules.values()) if getattr(module, "__file__", None) == path).CALLS


def test_launchers_py_chooses_the_launcher(config_dir):
    launcher = find_launcher("cuda(mem=16G) * 2 & duration=4h")
    assert isinstance(launcher, DirectLauncher) and launcher.max_running == 2
    assert find_launcher("cpu(cores=2) & duration=2h").max_running == 1


def test_first_spec_with_a_launcher_wins(config_dir):
    launcher = find_launcher("cuda(mem=40G)", "cuda(mem=8G)", "cpu(cores=1)", tags=["fast"])
    assert launcher.max_running == 1
    # the third spec was not needed
    assert calls(config_dir) == [("cuda(mem=40G)", {"fast"}), ("cuda(mem=8G)", {"fast"})]


def test_a_string_spec_is_passed_as_one_union(config_dir):
    # the union picks its fitting alternative: the GPU host serves the second one
    assert find_launcher("cuda(mem=40G) | cuda(mem=8G) * 2").max_running == 2
    assert calls(config_dir) == [("cuda(mem=40G) | cuda(mem=8G) * 2", set())]


def test_requirement_objects_are_accepted(config_dir):
    # experimaestro 2.7.0 raises AttributeError on these
    assert find_launcher(cuda(mem="16G") * 2).max_running == 2
    assert find_launcher(cuda(mem="80G") | cpu(cores=2)).max_running == 1
    assert find_launcher(parse("cpu(cores=4)")).max_running == 1


def test_nothing_fits(config_dir):
    with pytest.raises(LauncherNotFoundError) as caught:
        find_launcher("cuda(mem=80G)", cpu(cores=64), tags={"slurm"})
    assert str(caught.value) == (
        f'no launcher for "cuda(mem=80G)", "cpu(cores=64)" with tags slurm: '
        f"find_launcher() in {config_dir / 'launchers.py'} returned None for each"
    )
    assert caught.value.specs == ["cuda(mem=80G)", "cpu(cores=64)"]


def test_a_single_string_tag_is_one_tag(config_dir):
    with pytest.raises(LauncherNotFoundError):
        find_launcher("cpu(cores=1)", tags="nowhere")
    assert calls(config_dir) == [("cpu(cores=1)", {"nowhere"})]


def test_without_launchers_py_jobs_run_here(tmp_path, monkeypatch):
    monkeypatch.setenv("XPM_CONFIG_DIR", str(tmp_path / "empty"))
    launcher = find_launcher("cuda(mem=80G) * 8")
    assert isinstance(launcher, DirectLauncher) and launcher.name == "direct"
    assert launcher.connector.name == "local"
    # specs are still checked
    with pytest.raises(RequirementSpecError):
        find_launcher("cuda(mem=8)")


def test_config_dir_argument_wins_over_the_environment(config_dir, tmp_path_factory):
    other = tmp_path_factory.mktemp("other")
    (other / "launchers.py").write_text("def find_launcher(requirement, tags):\n    return None\n")
    with pytest.raises(LauncherNotFoundError, match=str(other)):
        find_launcher("cpu(cores=1)", config_dir=other)


def test_default_config_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("XPM_CONFIG_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config_directory() == tmp_path / ".config" / "xpm"
    monkeypatch.setenv("XPM_CONFIG_DIR", "~/elsewhere")
    assert config_directory() == tmp_path / "elsewhere"


def test_launchers_py_is_read_again_when_it_changes(config_dir):
    path = config_dir / "launchers.py"
    assert find_launcher("cpu(cores=1)").max_running == 1
    path.write_text(
        "from xpm_core.builtin.local.direct_launcher import DirectLauncher\n"
        "def find_launcher(requirement, tags):\n    return DirectLauncher(max_running=7)\n"
    )
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a coarse clock may not tick
    assert find_launcher("cpu(cores=1)").max_running == 7


@pytest.mark.parametrize(
    "source, message",
    [
        ("def find_launcher(requirement, tags)\n    return None\n", "launchers.py, line 1: syntax error: expected ':'"),
        ("import os\nraise RuntimeError('no cluster here')\n", "launchers.py, line 2: loading it raised RuntimeError: no cluster here"),
        ("LAUNCHER = None\n", "launchers.py: defines no function find_launcher(requirement, tags)"),
        (
            "def find_launcher(requirement, tags):\n    return requirement.cuda\n",
            "launchers.py, line 2: find_launcher(\"cpu(cores=1)\") raised AttributeError: "
            "'RequirementUnion' object has no attribute 'cuda'",
        ),
        (
            "def find_launcher(requirement, tags):\n    return 'slurm'\n",
            "launchers.py: find_launcher(\"cpu(cores=1)\") returned 'slurm', expected a Launcher or None",
        ),
    ],
)
def test_errors_in_launchers_py_name_the_file(tmp_path, source, message):
    (tmp_path / "launchers.py").write_text(source)
    with pytest.raises(LaunchersFileError) as caught:
        find_launcher("cpu(cores=1)", config_dir=tmp_path)
    assert str(caught.value) == f"{tmp_path}/{message}"
    assert caught.value.path == tmp_path / "launchers.py"


def test_a_spec_is_a_string_or_a_requirement(config_dir):
    with pytest.raises(TypeError, match="not dict"):
        find_launcher({"cores": 2})
    with pytest.raises(TypeError, match="at least one requirement spec"):
        find_launcher()


def test_lazy_export_and_import_cost():
    import xpm_core
    from xpm_core.launcherfinder import finder

    assert xpm_core.find_launcher is finder.find_launcher
    assert xpm_core.LauncherNotFoundError is LauncherNotFoundError
    code = "import json, sys, xpm_core; print(json.dumps(sorted(sys.modules)))"
    modules = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    assert not {"parsimonious", "xpm_core.launcherfinder"} & set(modules)


def test_docs_show_specs_that_parse():
    # every spec written as `spec: ...` in docs/launchers.md is valid
    docs = (Path(__file__).parent.parent / "docs" / "launchers.md").read_text()
    specs = re.findall(r"spec: `([^`]+)`", docs)
    assert specs
    for spec in specs:
        parse(spec)


def test_launchers_py_example_in_docs_works(tmp_path):
    docs = (Path(__file__).parent.parent / "docs" / "launchers.md").read_text()
    example = docs.split("```python\n# launchers.py\n", 1)[1].split("```", 1)[0]
    (tmp_path / "launchers.py").write_text(textwrap.dedent(example))
    assert isinstance(find_launcher("cpu(cores=2)", config_dir=tmp_path), DirectLauncher)
    with pytest.raises(LauncherNotFoundError):
        find_launcher("cuda(mem=80G) * 16", config_dir=tmp_path)
