import pytest

from kmemsim.errors import ConfigError
from kmemsim.units import human, human_approx, memparse


@pytest.mark.parametrize(
    "text,value",
    [
        ("1G", 1 << 30),
        ("160M", 160 << 20),
        ("64k", 64 << 10),
        ("1T", 1 << 40),
        ("4096", 4096),
        ("0x1000", 0x1000),
        ("010", 8),  # octal, as the kernel's simple_strtoull with base 0
        ("2GiB", 2 << 30),
        ("512MB", 512 << 20),
        (" 3G ", 3 << 30),
        (123, 123),
        ("0", 0),
    ],
)
def test_memparse_accepts_kernel_sizes(text, value):
    assert memparse(text) == value


@pytest.mark.parametrize("bad", ["12Q", "-1G", "", "G", "1.5G", "1 G B", "0x", "1GG", "abc", None, True, -5, 1.0])
def test_memparse_rejects_malformed_sizes_naming_them(bad):
    with pytest.raises(ConfigError) as e:
        memparse(bad, "ram")
    assert "ram" in str(e.value)
    if isinstance(bad, str) and bad:
        assert repr(bad) in str(e.value)


def test_human():
    assert human(4096) == "4K"
    assert human(3 << 30) == "3G"
    assert human(1000) == "1000"
    assert human_approx(1536 << 20) == "1.5 GiB"
    assert human_approx(12) == "12 B"
