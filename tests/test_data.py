"""irgraph.data: named arrays from .csv .json .npz .npy files and folders, with errors naming the place."""

import numpy as np
import pytest

import irgraph
from irgraph.data import load


def test_csv_columns_are_named_by_the_header(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x1, x2,y\n1,2,3\n4,5,6\n\n")
    data = load(str(path))
    assert list(data) == ["x1", "x2", "y"]
    np.testing.assert_array_equal(data["x2"], [2.0, 5.0])


@pytest.mark.parametrize("text, fragment", [
    ("", "header"),
    ("a,b\n1,2\n3\n", "d.csv:3: 1 values"),
    ("a,b\n1,x\n", "d.csv:2: column 'b': 'x' is not a number"),
    ("a,a\n1,2\n", "'a' appears twice"),
])
def test_csv_errors_name_the_line_and_column(tmp_path, text, fragment):
    path = tmp_path / "d.csv"
    path.write_text(text)
    with pytest.raises(irgraph.Error, match=fragment):
        load(str(path))


def test_npy_files_are_memory_mapped_and_named_by_the_file(tmp_path):
    np.save(tmp_path / "X.npy", np.arange(6.0).reshape(3, 2))
    data = load(str(tmp_path / "X.npy"))
    assert isinstance(data["X"], np.memmap)
    np.save(tmp_path / "y.npy", np.ones(3))
    assert sorted(load(str(tmp_path))) == ["X", "y"]  # a folder of .npy files


def test_several_sources_merge_and_later_ones_win(tmp_path):
    (tmp_path / "a.json").write_text('{"w": 1, "b": 2.5}')
    np.savez(tmp_path / "b.npz", w=np.array([3.0, 4.0]))
    data = load([str(tmp_path / "a.json"), str(tmp_path / "b.npz")])
    assert data["b"] == 2.5 and data["w"].tolist() == [3.0, 4.0]


@pytest.mark.parametrize("name, fragment", [("d.txt", "unknown data format"), ("none.csv", "no such file")])
def test_unknown_or_missing_files(tmp_path, name, fragment):
    if name == "d.txt":
        (tmp_path / name).write_text("1")
    with pytest.raises(irgraph.Error, match=fragment):
        load(str(tmp_path / name))
