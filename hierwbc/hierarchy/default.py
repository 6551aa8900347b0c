"""The default tree of white-blood-cell types and the dataset label maps.

Specified in ``shared/hierarchy.md``: Lineage > Maturity > Cell type > morphological sub-type
(Chossegros et al., section 2.1.1, Fig. 3 and Table A.1; aligned with Matek et al. 2019 and the
Cell Ontology). Leaves sit at different depths on purpose. Users edit their own copy; this
function always returns a fresh one.
"""

from __future__ import annotations

from .tree import Hierarchy

DEFAULT_NEWICK = (
    "(((lymphoblast,lymphocyte_immature)lymphoid_immature,"
    "(lymphocyte_typical,(lymphocyte_reactive,lymphocyte_neoplastic,lymphocyte_large_granular,"
    "hairy_cell)lymphocyte_atypical,plasma_cell)lymphoid_mature)lymphopoiesis,"
    "((monoblast,promonocyte)monocytic_immature,(monocyte,macrophage)monocytic_mature)monopoiesis,"
    "((myeloblast,((promyelocyte,promyelocyte_bilobed,promyelocyte_atypical,faggot_cell)promyelocytes,"
    "myelocyte,metamyelocyte)immature_granulocyte)granulocytic_immature,"
    "((neutrophil_band,neutrophil_segmented)neutrophil,(eosinophil,eosinophil_abnormal)eosinophils,"
    "basophil)granulocytic_mature)granulopoiesis,"
    "((proerythroblast,erythroblast)erythroid_immature)erythropoiesis,"
    "(platelet)thrombopoiesis,"
    "blast,"
    "(smudge_cell,artefact)artefacts)wbc;"
)

DISPLAY_LABELS = {
    "wbc": "white blood cell",
    "lymphopoiesis": "lymphoid lineage",
    "monopoiesis": "monocytic lineage",
    "granulopoiesis": "granulocytic lineage",
    "erythropoiesis": "erythroid lineage",
    "thrombopoiesis": "thrombocytic lineage",
    "blast": "blast (lineage undetermined)",
    "artefacts": "artefacts",
    "lymphoid_immature": "immature",
    "lymphoid_mature": "mature",
    "monocytic_immature": "immature",
    "monocytic_mature": "mature",
    "granulocytic_immature": "immature",
    "granulocytic_mature": "mature",
    "erythroid_immature": "immature",
    "lymphocyte_immature": "immature lymphocyte",
    "lymphocyte_typical": "typical lymphocyte",
    "lymphocyte_atypical": "atypical lymphocyte",
    "lymphocyte_reactive": "reactive lymphocyte",
    "lymphocyte_neoplastic": "neoplastic lymphocyte",
    "lymphocyte_large_granular": "large granular lymphocyte",
    "hairy_cell": "hairy cell",
    "plasma_cell": "plasma cell",
    "immature_granulocyte": "immature granulocyte (IG)",
    "promyelocytes": "promyelocyte (any)",
    "promyelocyte_bilobed": "bilobed promyelocyte",
    "promyelocyte_atypical": "atypical promyelocyte",
    "faggot_cell": "faggot cell",
    "neutrophil_band": "band neutrophil",
    "neutrophil_segmented": "segmented neutrophil",
    "eosinophils": "eosinophil (any)",
    "eosinophil_abnormal": "abnormal eosinophil",
    "smudge_cell": "smudge cell",
}

_FIVE_PART = {"Neutrophil": "neutrophil", "Lymphocyte": "lymphoid_mature", "Monocyte": "monocyte",
              "Eosinophil": "eosinophil", "Basophil": "basophil"}

LABEL_MAPS: dict[str, dict[str, str | None]] = {
    "pbc": {"BA": "basophil", "EO": "eosinophil", "ERB": "erythroblast", "IG": "immature_granulocyte",
            "PMY": "promyelocyte", "MY": "myelocyte", "MMY": "metamyelocyte", "LY": "lymphocyte_typical",
            "MO": "monocyte", "SNE": "neutrophil_segmented", "BNE": "neutrophil_band",
            "NEUTROPHIL": "neutrophil", "PLATELET": "platelet"},
    "aml_matek": {"BAS": "basophil", "EBO": "erythroblast", "EOS": "eosinophil", "KSC": "smudge_cell",
                  "LYA": "lymphocyte_atypical", "LYT": "lymphocyte_typical", "MMZ": "metamyelocyte",
                  "MOB": "monoblast", "MON": "monocyte", "MYB": "myelocyte", "MYO": "myeloblast",
                  "NGB": "neutrophil_band", "NGS": "neutrophil_segmented", "PMB": "promyelocyte_bilobed",
                  "PMO": "promyelocyte"},
    "bmc": {"ABE": "eosinophil_abnormal", "ART": "artefact", "BAS": "basophil", "BLA": "blast",
            "EBO": "erythroblast", "EOS": "eosinophil", "FGC": "faggot_cell", "HAC": "hairy_cell",
            "KSC": "smudge_cell", "LYI": "lymphocyte_immature", "LYT": "lymphocyte_typical",
            "MMZ": "metamyelocyte", "MON": "monocyte", "MYB": "myelocyte", "NGB": "neutrophil_band",
            "NGS": "neutrophil_segmented", "PEB": "proerythroblast", "PLM": "plasma_cell",
            "PMO": "promyelocyte", "NIF": None, "OTH": None},
    "mll23": {"promyelocyte atypical": "promyelocyte_atypical", "basophil": "basophil",
              "eosinophil": "eosinophil", "erythroblast": "erythroblast", "hairy cell": "hairy_cell",
              "lymphocyte large granular": "lymphocyte_large_granular",
              "lymphocyte neoplastic": "lymphocyte_neoplastic", "lymphocyte reactive": "lymphocyte_reactive",
              "lymphocyte typical": "lymphocyte_typical", "metamyelocyte": "metamyelocyte",
              "monoblast": "monoblast", "myeloblast": "myeloblast", "myelocyte": "myelocyte",
              "neutrophil band": "neutrophil_band", "neutrophil segmented": "neutrophil_segmented",
              "plasma cell": "plasma_cell", "promyelocyte": "promyelocyte", "smudge cell": "smudge_cell"},
    # Raabin-WBC's full release names its type folders; the TXL-PBC boxes in data/raabin only
    # say "WBC" (type unknown: the root).
    "raabin": {**_FIVE_PART, "WBC": "wbc", "RBC": None, "Platelet": None},
    # LISC's folder names as published (Baoso ...) and the five-part names of other copies.
    "lisc": {**_FIVE_PART, "Baoso": "basophil", "eosi": "eosinophil", "lymp": "lymphoid_mature",
             "mono": "monocyte", "neut": "neutrophil"},
    "aslan": {"wbc": "wbc", "rbc": None},
    "bccd": {"NEUTROPHIL": "neutrophil", "LYMPHOCYTE": "lymphoid_mature", "MONOCYTE": "monocyte",
             "EOSINOPHIL": "eosinophil", "BASOPHIL": "basophil"},
    "segmentation_wbc": {"1": "neutrophil", "2": "lymphoid_mature", "3": "monocyte", "4": "eosinophil",
                         "5": "basophil"},
}


def default_hierarchy() -> Hierarchy:
    """A fresh copy of the default WBC hierarchy with every dataset label map."""
    h = Hierarchy.from_newick(DEFAULT_NEWICK, source="default_hierarchy")
    for name, label in DISPLAY_LABELS.items():
        h.set_display_label(name, label)
    for dataset, entries in LABEL_MAPS.items():
        h.set_label_map(dataset, entries)
    return h
