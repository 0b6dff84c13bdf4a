"""serve.py: the web server as the environment configures it, refusing what it cannot use."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from granian.constants import Interfaces

import serve

SETTINGS = (
    "WEB_LISTEN",
    "WEB_CONCURRENCY",
    "WEB_THREADS",
    "WEB_KEEPALIVE",
    "WEB_GRACEFUL_TIMEOUT",
    "WEB_MAX_RSS_MIB",
    "WEB_MAX_LIFETIME",
    "LOG_LEVEL",
    *serve._RETIRED,
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in SETTINGS:
        monkeypatch.delenv(name, raising=False)


def test_the_defaults_are_productions():
    web = serve.server()

    assert (web.bind_addr, web.bind_port) == ("0.0.0.0", 8000)
    assert web.interface == Interfaces.WSGI
    assert web.target == "reviewapp.wsgi:application"
    assert web.workers == len(os.sched_getaffinity(0))
    assert web.blocking_threads == 8
    # Above granian's command-line ceiling (60 s) and a load balancer's common 60 s idle timeout.
    assert web.http1_settings.header_read_timeout == 75_000
    assert web.workers_kill_timeout == 30
    assert web.respawn_failed_workers is True
    assert web.workers_rss == 400 * 1024 * 1024
    assert web.workers_lifetime is None
    assert web.log_access is False


def test_every_setting_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("WEB_LISTEN", "127.0.0.1:9001")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    monkeypatch.setenv("WEB_THREADS", "4")
    monkeypatch.setenv("WEB_KEEPALIVE", "650")
    monkeypatch.setenv("WEB_GRACEFUL_TIMEOUT", "20")
    monkeypatch.setenv("WEB_MAX_RSS_MIB", "0")
    monkeypatch.setenv("WEB_MAX_LIFETIME", "3600")
    monkeypatch.setenv("LOG_LEVEL", "WARNING")

    web = serve.server()

    assert (web.bind_addr, web.bind_port) == ("127.0.0.1", 9001)
    assert (web.workers, web.blocking_threads) == (3, 4)
    assert web.http1_settings.header_read_timeout == 650_000
    assert web.workers_kill_timeout == 20
    assert web.workers_rss is None
    assert web.workers_lifetime == 3600
    assert web.log_level == "warning"


def test_an_empty_concurrency_means_one_worker_per_core(monkeypatch):
    monkeypatch.setenv("WEB_CONCURRENCY", "")  # what Compose passes when it is unset

    assert serve.server().workers == len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("WEB_THREADS", "eight", "WEB_THREADS must be an integer, got 'eight'"),
        ("WEB_THREADS", "0", "WEB_THREADS must be at least 1, got 0"),
        ("WEB_LISTEN", "8000", "WEB_LISTEN must be host:port, got '8000'"),
        ("WEB_MAX_LIFETIME", "30", "WEB_MAX_LIFETIME must be 0 or at least 60 seconds, got 30"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL must be one of"),
    ],
)
def test_a_bad_value_stops_the_start_naming_the_setting(monkeypatch, name, value, says):
    monkeypatch.setenv(name, value)

    with pytest.raises(SystemExit, match=says):
        serve.server()


def test_a_retired_gunicorn_setting_stops_the_start_rather_than_being_ignored(monkeypatch):
    # A keep-alive raised for a load balancer, silently dropped, would bring back its 502s.
    monkeypatch.setenv("GUNICORN_KEEPALIVE", "650")

    with pytest.raises(SystemExit, match=r"GUNICORN_KEEPALIVE no longer read.*WEB_KEEPALIVE"):
        serve.server()


def test_the_metrics_directory_is_emptied_of_an_earlier_runs_files(monkeypatch, tmp_path):
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    (tmp_path / "counter_999999.db").write_bytes(b"an earlier run's counts")

    assert serve.metrics_directory() == str(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_without_one_set_the_workers_get_a_new_metrics_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr(serve.tempfile, "tempdir", None)  # read TMPDIR again

    directory = serve.metrics_directory()

    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == directory
    assert directory.startswith(str(tmp_path / "reviewapp-metrics-"))


def test_a_web_process_freezes_what_it_loaded_at_start_out_of_the_collectors_way():
    # A process of its own: the test run's has imported reviewapp.wsgi, or not, for other reasons.
    frozen = subprocess.run(
        [sys.executable, "-c", "import gc, reviewapp.wsgi; print(gc.get_freeze_count())"],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "reviewapp.settings"},
    ).stdout

    assert int(frozen) > 50_000  # Django and the apps: ~120,000 objects


# Eight threads alive at once, each allocating, then the number of arenas glibc reports.
ARENAS_AFTER_EIGHT_THREADS = """
import ctypes, sys, threading
import serve
if sys.argv[1] == "limited":
    print(serve.malloc_arenas(), end=" ")
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
together = threading.Barrier(8, timeout=10)
def allocate():
    libc.malloc(1 << 16)
    together.wait()
threads = [threading.Thread(target=allocate) for _ in range(8)]
[thread.start() for thread in threads]
[thread.join() for thread in threads]
libc.open_memstream.restype = ctypes.c_void_p
text, size = ctypes.c_char_p(), ctypes.c_size_t()
report = libc.open_memstream(ctypes.byref(text), ctypes.byref(size))
libc.malloc_info(0, ctypes.c_void_p(report))
libc.fclose(ctypes.c_void_p(report))
print(ctypes.string_at(text, size.value).count(b"<heap nr="))
"""


def glibc_program(program: str, how: str, *, unset: str, **environment: str) -> list[str]:
    """What a program prints, run afresh without the operator's `unset` variable (glibc reads it
    as a process starts) and with `environment`."""
    env = {name: value for name, value in os.environ.items() if name != unset}
    return subprocess.run(
        [sys.executable, "-c", program, how],
        capture_output=True,
        text=True,
        check=True,
        env={**env, **environment},
    ).stdout.split()


def arenas_after_eight_threads(how: str, **environment: str) -> list[str]:
    return glibc_program(ARENAS_AFTER_EIGHT_THREADS, how, unset="MALLOC_ARENA_MAX", **environment)


def test_the_workers_threads_share_two_malloc_arenas():
    assert int(arenas_after_eight_threads("unlimited")[0]) > 2  # glibc's own way: one a thread

    limit, arenas = arenas_after_eight_threads("limited")

    assert limit == "2"
    assert int(arenas) <= 2


def test_an_operators_malloc_arena_max_is_kept():
    limit, arenas = arenas_after_eight_threads("limited", MALLOC_ARENA_MAX="4")

    assert limit == "4"
    assert int(arenas) <= 4


# A 1 MiB block freed, then a 512 KiB one: whether glibc maps the second apart (1) or not (0).
MAPPED_AFTER_A_LARGE_FREE = """
import ctypes, sys
import serve
if sys.argv[1] == "fixed":
    print(serve.malloc_mmap_threshold(), end=" ")
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.open_memstream.restype = ctypes.c_void_p
def mapped():
    text, size = ctypes.c_char_p(), ctypes.c_size_t()
    report = libc.open_memstream(ctypes.byref(text), ctypes.byref(size))
    libc.malloc_info(0, ctypes.c_void_p(report))
    libc.fclose(ctypes.c_void_p(report))
    info = ctypes.string_at(text, size.value).decode()
    return int(info.split('<total type="mmap" count="')[1].split('"')[0])
libc.free(ctypes.c_void_p(libc.malloc(1 << 20)))
before = mapped()
kept = libc.malloc(1 << 19)
print(mapped() - before)
"""


def mapped_after_a_large_free(how: str, **environment: str) -> list[str]:
    return glibc_program(MAPPED_AFTER_A_LARGE_FREE, how, unset="MALLOC_MMAP_THRESHOLD_", **environment)


def test_a_batchs_large_arrays_keep_pages_of_their_own():
    # glibc's own way: the freed 1 MiB block raised the threshold, so 512 KiB came from the heap.
    assert mapped_after_a_large_free("dynamic") == ["0"]

    assert mapped_after_a_large_free("fixed") == [str(256 * 1024), "1"]


def test_an_operators_mmap_threshold_is_kept():
    assert mapped_after_a_large_free("fixed", MALLOC_MMAP_THRESHOLD_="2097152") == ["2097152", "0"]
