"""SeBS graph-pagerank: PageRank of a seeded Barabasi-Albert graph (networkx)."""
import networkx as nx

from workloads.functions._params import validate

TENANT = "carol"
DESCRIPTION = "networkx PageRank on a Barabasi-Albert graph"
SIZES = {"small": 300, "medium": 3_000, "large": 20_000}
PARAMETERS = {
    "nodes": {"type": "integer", "default": 300, "minimum": 2, "maximum": 50_000, "description": "nodes of the graph"},
    "seed": {"type": "integer", "default": 0, "minimum": 0, "maximum": 2_147_483_647, "description": "input generator seed"},
}


def _graph(nodes, seed):
    return nx.barabasi_albert_graph(nodes, 3, seed=seed)


def handler(event):
    event = validate(PARAMETERS, event)
    graph = _graph(event["nodes"], event["seed"])
    ranks = nx.pagerank(graph, alpha=0.85, tol=1e-10)
    top = sorted(ranks, key=lambda n: (-ranks[n], n))[:10]
    return {"nodes": graph.number_of_nodes(), "edges": graph.number_of_edges(),
            "top": [[n, ranks[n]] for n in top], "total": sum(ranks.values())}


def make_event(size="small", seed=0):
    return {"nodes": SIZES[size], "seed": seed}


def check(event, result):
    # Independent power iteration over the adjacency lists.
    import numpy as np
    graph = _graph(event["nodes"], event["seed"])
    n = graph.number_of_nodes()
    degree = np.array([graph.degree(v) for v in range(n)], dtype=float)
    rank = np.full(n, 1.0 / n)
    for _ in range(200):
        share = rank / degree
        new = np.full(n, 0.15 / n)
        for u, v in graph.edges():
            new[v] += 0.85 * share[u]
            new[u] += 0.85 * share[v]
        if np.abs(new - rank).sum() < 1e-12:
            break
        rank = new
    return (result["nodes"] == n and result["edges"] == graph.number_of_edges()
            and abs(result["total"] - 1.0) < 1e-6
            and all(abs(rank[node] - score) < 1e-6 for node, score in result["top"]))
