"""einsim: simulate and explore deep-learning accelerators running cascades of Extended Einsums.

The packages ``einsim.workloads``, ``einsim.arch``, ``einsim.mappings``, ``einsim.sim``, ``einsim.analysis`` and
``einsim.rtl`` live in the repository's top-level folders (mapped by ``pyproject.toml``). This module is the public
front; its names are imported on first use, so ``import einsim`` stays cheap::

    import einsim
    cascade = einsim.load_cascade("attention_1pass")
    arch = einsim.load_arch("fusemax")
    mapping = einsim.load_mapping("binding")
    result = einsim.evaluate(cascade, arch, mapping, {"B": 64, "H": 12, "M": 4096, "P": 4096, "E": 64, "F": 64})
"""

from einsim.lazy import export_lazily

export_lazily(__name__, {
    ".workloads": ["load_cascade", "load_model", "Cascade", "SpecError"],
    ".arch": ["load_arch", "ArchSpec"],
    ".mappings": ["load_mapping", "MappingSpec"],
    ".sim": ["evaluate", "simulate", "Result"],
})
