"""mm/vmstat.py: zone_indices() gives, in one pass, what the per-order functions give."""
from types import SimpleNamespace

from hypothesis import given
from hypothesis import strategies as st

from kmemsim.mm.vmstat import fragmentation_index, unusable_free_index, zone_indices


@given(nr_free=st.lists(st.integers(0, 5000), min_size=1, max_size=14), nr_orders=st.integers(1, 14))
def test_zone_indices_are_the_per_order_functions(nr_free, nr_orders):
    z = SimpleNamespace(nr_free=nr_free)
    ext, unu = zone_indices(z, nr_orders)
    assert ext == tuple(fragmentation_index(z, o) for o in range(nr_orders))
    assert unu == tuple(unusable_free_index(z, o) for o in range(nr_orders))


def test_zone_indices_of_an_empty_zone_and_of_a_known_free_area():
    assert zone_indices(SimpleNamespace(nr_free=[0] * 11), 11) == ((0,) * 11, (1000,) * 11)
    ext, unu = zone_indices(SimpleNamespace(nr_free=[0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 3]), 11)
    assert [unu[o] for o in (0, 8, 9, 10)] == [0, 0, 66, 200] and ext[10] == -1000
