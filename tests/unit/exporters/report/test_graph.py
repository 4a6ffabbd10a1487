"""The pipeline graph's layout: every node and dataset placed once, data flowing left to right."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from otel_kedro.exporters.report.graph import BOX_H, BOX_W, graph_svg, layout
from otel_kedro.model.run_view import NodeRow, SpanRow


def _node(name: str, inputs: tuple[str, ...], outputs: tuple[str, ...]) -> NodeRow:
    span = SpanRow(0, None, name, "node", 0, 1, "unset", "", "pid 1", {})
    return NodeRow(span, "success", None, None, inputs, outputs)


@st.composite
def pipelines(draw: st.DrawFn) -> list[NodeRow]:
    """A random DAG as Kedro allows it: each dataset has one producer, inputs come from
    datasets made earlier or raw inputs.
    """
    count = draw(st.integers(min_value=1, max_value=40))
    made: list[str] = []
    nodes = []
    for index in range(count):
        raw = [f"raw{i}" for i in range(draw(st.integers(0, 2)))]
        used = draw(st.lists(st.sampled_from(made), max_size=3, unique=True)) if made else []
        outputs = tuple(f"d{index}_{k}" for k in range(draw(st.integers(0, 2))))
        nodes.append(_node(f"n{index}", tuple(raw + used), outputs))
        made.extend(outputs)
    return nodes


@settings(max_examples=150, deadline=None)
@given(pipelines())
def test_every_vertex_once_and_every_edge_goes_right(nodes: list[NodeRow]) -> None:
    placed = layout(nodes)
    datasets = {d for n in nodes for d in (*n.inputs, *n.outputs)}
    assert set(placed.vertices) == {f"n:{n.name}" for n in nodes} | {f"d:{d}" for d in datasets}
    for a, b in placed.edges:
        assert placed.vertices[a].x < placed.vertices[b].x, (a, b)
    spots = {(v.x, v.y) for v in placed.vertices.values()}
    assert len(spots) == len(placed.vertices), "two vertices on one spot"
    for vertex in placed.vertices.values():
        assert vertex.x >= 0
        assert vertex.x + BOX_W <= placed.width
        assert vertex.y >= 0
        assert vertex.y + BOX_H <= placed.height


def test_names_are_escaped_in_the_svg() -> None:
    svg = graph_svg([_node("<script>alert(1)</script>", ('a"b',), ())])
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    assert 'data-dataset="a&quot;b"' in svg
