import pytest

from gpufleet_sim.model import Fleet, Node, move_gpu


def fleet() -> Fleet:
    f = Fleet(seed=5)
    f.add_node(Node("a", "hgx-h100-8gpu", "r1", seed=5))
    f.add_node(Node("b", "hgx-h100-8gpu", "r1", seed=5))
    return f


def test_a_moved_gpu_keeps_its_identity_and_takes_a_free_index():
    f = fleet()
    a, b = f.nodes["a"], f.nodes["b"]
    g = next(x for x in a.gpus if x.index == 3)
    serial, uuid = g.serial, g.uuid
    moved = move_gpu(f, "a", 3, "b")
    assert (moved.serial, moved.uuid) == (serial, uuid)
    assert moved.index == 8
    assert len(a.gpus) == 7 and len(b.gpus) == 9
    assert "GPU3" not in {fw.id for fw in a.firmware}
    assert "GPU8" in {fw.id for fw in b.firmware}
    assert f.events[-1]["type"] == "GpuMoved"


def test_bad_moves_are_explained():
    f = fleet()
    with pytest.raises(KeyError, match="no node zz"):
        move_gpu(f, "a", 0, "zz")
    with pytest.raises(KeyError, match="has no GPU 42"):
        move_gpu(f, "a", 42, "b")
    with pytest.raises(ValueError, match="same node"):
        move_gpu(f, "a", 0, "a")
