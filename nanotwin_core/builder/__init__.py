"""Nanocrystal builder: shapes, coherent-sublattice ownership, twin laws, boundaries, presets.

Main entry point: ``build_crystal`` (used by the CLI and the demos). Shapes are registered in
``shape_kinds`` (prism, cuboid, sphere) and by their own modules (``hex_platelet``).
"""

from nanotwin_core.builder.boundaries import (
    Boundary,
    boundary_at,
    boundary_polygon,
    layer_levels,
    layer_midpoints,
    parallel_boundaries,
    regular_boundaries,
)
from nanotwin_core.builder.hex_platelet import build_hex_platelet, select_hex_platelet
from nanotwin_core.builder.networks import (
    NetworkGroup,
    domain_sizes_by_law,
    gap_probabilities,
    network_groups,
    random_boundaries,
    sample_network,
)
from nanotwin_core.builder.ownership import Ownership, find_ownership
from nanotwin_core.builder.presets import TwinPreset, build_preset, list_twin_presets, twin_preset
from nanotwin_core.builder.shapes import (
    NodeSelection,
    build_cuboid,
    build_prism,
    build_sphere,
    crystal_from_selection,
    prism_series,
    select_cuboid,
    select_prism,
    select_sphere,
    size_series,
)
from nanotwin_core.builder.sizes import DEFAULT_MAX_ATOMS, prism_counts, prism_sizes
from nanotwin_core.builder.twin_laws import TwinLaw, TwinMember, expand_laws, parse_twin_law
from nanotwin_core.builder.twins import (
    apply_boundaries,
    build_crystal,
    check_coherent,
    draw_network,
    is_lattice_shift,
    node_contents,
    select_nodes,
    twinned_ensemble,
)

__all__ = [
    "DEFAULT_MAX_ATOMS",
    "Boundary",
    "NetworkGroup",
    "NodeSelection",
    "Ownership",
    "TwinLaw",
    "TwinMember",
    "TwinPreset",
    "apply_boundaries",
    "boundary_at",
    "boundary_polygon",
    "build_crystal",
    "build_cuboid",
    "build_hex_platelet",
    "build_preset",
    "build_prism",
    "build_sphere",
    "check_coherent",
    "crystal_from_selection",
    "domain_sizes_by_law",
    "draw_network",
    "expand_laws",
    "find_ownership",
    "gap_probabilities",
    "is_lattice_shift",
    "layer_levels",
    "layer_midpoints",
    "list_twin_presets",
    "network_groups",
    "node_contents",
    "parallel_boundaries",
    "parse_twin_law",
    "prism_counts",
    "prism_series",
    "prism_sizes",
    "random_boundaries",
    "regular_boundaries",
    "sample_network",
    "select_cuboid",
    "select_hex_platelet",
    "select_nodes",
    "select_prism",
    "select_sphere",
    "size_series",
    "twin_preset",
    "twinned_ensemble",
]
