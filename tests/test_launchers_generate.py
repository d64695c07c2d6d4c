"""``xpm launchers direct generate``: a launchers.py for this machine that find_launcher loads and uses."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from cli_support import one_line_error, xpm

from xpm_core.launcherfinder import LauncherNotFoundError, find_launcher
from xpm_core.launcherfinder.generate import detect_host

FAKE_NVIDIA_SMI = """#!/bin/sh
# Answers like nvidia-smi --query-gpu=name,memory.total --format=csv,noheader,nounits
echo "NVIDIA Fake A100, 40960"
echo "NVIDIA Fake A100, 40960"
"""


def test_generated_file_is_loaded_by_find_launcher(tmp_path):
    config = tmp_path / "config"
    result = xpm("launchers", "direct", "generate", config_dir=config)
    assert result.returncode == 0, result.stderr
    host = detect_host()
    assert f"{host.cores} cores" in result.stdout and str(config / "launchers.py") in result.stdout

    launcher = find_launcher("cpu(cores=1)", config_dir=config)
    assert type(launcher).__name__ == "DirectLauncher"
    assert len(launcher.submit_listeners) == 0  # no memory asked: nothing to reserve
    assert len(find_launcher("cpu(mem=1M)", config_dir=config).submit_listeners) == 1
    with pytest.raises(LauncherNotFoundError):
        find_launcher(f"cpu(cores={host.cores + 1})", config_dir=config)
    with pytest.raises(LauncherNotFoundError):
        find_launcher("cuda(mem=1G)", config_dir=config)  # no nvidia-smi here (or the test's PATH)


def test_gpus_come_from_nvidia_smi(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "nvidia-smi").write_text(FAKE_NVIDIA_SMI)
    (bin_dir / "nvidia-smi").chmod(0o755)
    output = tmp_path / "mine.py"
    result = xpm("launchers", "direct", "generate", "-o", str(output), "--memory-token", "0",
                 PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert result.returncode == 0, result.stderr
    assert "NVIDIA Fake A100 (" in result.stdout
    text = output.read_text()
    assert text.count('CudaSpecification(memory="40GiB")') == 2 and "MEMORY_TOKEN = 0" in text

    output.rename(tmp_path / "launchers.py")
    assert find_launcher("cuda(mem=32G) * 2", config_dir=tmp_path) is not None
    with pytest.raises(LauncherNotFoundError):
        find_launcher("cuda(mem=32G) * 3", config_dir=tmp_path)
    with pytest.raises(LauncherNotFoundError):
        find_launcher("cuda(mem=48G)", config_dir=tmp_path)


def test_refuses_to_overwrite_without_force(tmp_path):
    output = tmp_path / "launchers.py"
    output.write_text("# mine\n")
    result = xpm("launchers", "direct", "generate", "-o", str(output))
    assert result.returncode == 2
    assert "exists: add --force" in one_line_error(result)
    assert output.read_text() == "# mine\n"
    assert xpm("launchers", "direct", "generate", "-o", str(output), "-f").returncode == 0
    assert "def find_launcher" in output.read_text()


def test_a_bad_token_unit_is_a_usage_error(tmp_path):
    result = xpm("launchers", "direct", "generate", "-o", str(tmp_path / "l.py"), "--memory-token", "4")
    assert result.returncode == 2
    assert "'4' is not a size with a unit" in one_line_error(result)
    assert not (tmp_path / "l.py").exists()


def test_interactive_asks_for_the_token_units(tmp_path):
    output = tmp_path / "launchers.py"
    result = xpm("launchers", "direct", "generate", "-o", str(output), "-i", stdin="512MiB\nn\n")
    assert result.returncode == 0, result.stderr
    assert 'MEMORY_TOKEN = parse_size("512MiB")' in output.read_text()
    assert "GPU_TOKENS = False" in output.read_text()


def test_jobs_reserve_memory_tokens_in_their_workspace(tmp_path):
    config = tmp_path / "config"
    assert xpm("launchers", "direct", "generate", "--memory-token", "1MiB", config_dir=config).returncode == 0
    (tmp_path / "small.py").write_text(textwrap.dedent('''
        from xpm_core import Param, Task

        class Small(Task):
            x: Param[int]

            def execute(self):
                print("ran", self.x)
    '''))
    plan = tmp_path / "plan.py"
    plan.write_text(textwrap.dedent('''
        import sys
        from xpm_core import experiment, find_launcher
        from small import Small

        with experiment(sys.argv[1], "tokens") as xp:
            task = Small.C(x=1)
            task.submit(launcher=find_launcher("cpu(mem=3M)"))
        print("DEPS", [(type(d).__name__, d.count) for d in task.__xpm__.dependencies], task.__xpm__.job.state.name)
    '''))
    environment = {**os.environ, "XPM_CONFIG_DIR": str(config)}
    result = subprocess.run([sys.executable, str(plan), str(tmp_path / "ws")], cwd=tmp_path, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "DEPS [('TokenDependency', 3)] DONE" in result.stdout
    assert (tmp_path / "ws" / ".xpm" / "tokens" / "memory").exists()
