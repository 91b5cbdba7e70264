"""boot(): profiles, tunables, and every kind of bad input."""
import pytest

import kmemsim
from kmemsim import ConfigError


def test_default_machine():
    k = kmemsim.boot()
    assert k.profile.name == "linux-6.18-x86_64"
    assert k.ram == 1 << 30
    assert len(k.cpus) == 2
    assert k.page_size == 4096
    k.check()


def test_two_machines_are_independent():
    a = kmemsim.boot()
    b = kmemsim.boot()
    addr = a.va(0x200000)
    a.write(addr, b"only in a")
    assert b.read(addr, 9) != b"only in a"
    assert a.read(addr, 9) == b"only in a"


def test_same_seed_same_bytes_other_seed_other_bytes():
    addr = kmemsim.boot().va(0x300000)
    assert kmemsim.boot(seed=7).read(addr, 64) == kmemsim.boot(seed=7).read(addr, 64)
    assert kmemsim.boot(seed=7).read(addr, 64) != kmemsim.boot(seed=8).read(addr, 64)


def test_stale_memory_off_reads_zero():
    k = kmemsim.boot(stale_memory=False)
    assert k.read(k.va(0x300000), 4096) == bytes(4096)
    assert kmemsim.boot().read(k.va(0x300000), 4096) != bytes(4096)


def test_unknown_profile_lists_known():
    with pytest.raises(ConfigError, match=r"unknown profile 'linux-9.9-vax'.*linux-2.6-i386.*linux-6.18-x86_64"):
        kmemsim.boot("linux-9.9-vax")


def test_unknown_tunable_named():
    with pytest.raises(ConfigError, match=r"unknown tunable 'min_free_kbytez'"):
        kmemsim.boot(min_free_kbytez=100)


def test_tunable_of_other_profile_says_where_it_applies():
    with pytest.raises(ConfigError, match=r"'vmalloc'.*applies to linux-2.6.11-i386, linux-2.6.24-i386"):
        kmemsim.boot(vmalloc="256M")


@pytest.mark.parametrize("ram", ["12Q", "-1G", "1.5G", "", "lots"])
def test_malformed_ram(ram):
    with pytest.raises(ConfigError, match="ram"):
        kmemsim.boot(ram=ram)


def test_too_little_ram():
    with pytest.raises(ConfigError, match=r"ram='16M'.*needs at least 128M"):
        kmemsim.boot(ram="16M")
    with pytest.raises(ConfigError, match=r"needs at least 16M"):
        kmemsim.boot("linux-2.6-i386", ram="8M")


def test_more_ram_than_the_architecture_addresses():
    with pytest.raises(ConfigError, match=r"64T.*MAX_PHYSMEM_BITS"):
        kmemsim.boot(ram="64T")
    with pytest.raises(ConfigError, match=r"i386 addresses at most 64G"):
        kmemsim.boot("linux-2.6-i386", ram="64G")


def test_ram_not_page_multiple():
    with pytest.raises(ConfigError, match="multiple of the page size"):
        kmemsim.boot(ram=(1 << 30) + 100)


@pytest.mark.parametrize("cpus", [0, -1, 257, "2", True, 2.0])
def test_bad_cpu_count(cpus):
    with pytest.raises(ConfigError, match="cpus"):
        kmemsim.boot(cpus=cpus)


def test_cpu_limit_is_nr_cpus():
    assert len(kmemsim.boot(cpus=256).cpus) == 256
    with pytest.raises(ConfigError, match="1 to 8"):
        kmemsim.boot("linux-2.6-i386", cpus=9)


def test_bad_on_bug_and_seed():
    with pytest.raises(ConfigError, match="on_bug"):
        kmemsim.boot(on_bug="ignore")
    with pytest.raises(ConfigError, match="seed"):
        kmemsim.boot(seed="x")


@pytest.mark.parametrize("value", ["maybe", 3, None])
def test_bad_boolean_tunable(value):
    with pytest.raises(ConfigError, match="stale_memory"):
        kmemsim.boot(stale_memory=value)


def test_bad_choice_tunable():
    with pytest.raises(ConfigError, match=r"vmsplit.*3G, 3G_OPT, 2G, 2G_OPT, 1G"):
        kmemsim.boot("linux-2.6-i386", vmsplit="4G")


def test_tunable_table_lists_every_tunable():
    table = kmemsim.profiles.tunable_table()
    for name in kmemsim.TUNABLES:
        assert f"`{name}`" in table


def test_cmdline_shows_boot_tunables():
    k = kmemsim.boot("linux-2.6-i386", ram="1G", vmalloc="256M", highmem="64M")
    assert k.cmdline == "mem=1G highmem=64M vmalloc=256M"
