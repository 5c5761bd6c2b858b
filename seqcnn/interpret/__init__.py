"""Interpretation: filters → PWMs → MEME → Tomtom vs JASPAR; logos; periodicity;
attributions (ISM, saliency, DeepLIFT/SHAP) and their AUROC; TF-MoDISco; the motif table.

The order the workflow runs them in (``t`` a task index)::

    fm = filter_motifs(model, X_test)                              # filters.py
    write_meme("filters.meme", fm.motifs, "dna", nsites=fm.nsites)  # meme.py
    tt = tomtom_jaspar(fm.motifs, "JASPAR2024", "CORE", "vertebrates")  # motifs.py
    frac = fraction_matched(tt, [f"filter{i}" for i in range(n_filters)])
    infl = filter_influence(model, X_valid, y_valid)               # filters.py
    idx = top_positives(logits(model, X_test)[:, t], y_test[:, t], 500)  # attribution.py
    maps = attributions(model, X_test[idx], target=t)
    save_attributions("attributions.npz", X_test[idx], maps, idx, t)
    pats = run_modisco(maps["deeplift_shap"], X_test[idx])         # modisco.py
    pt = tomtom_jaspar(pats.ppms)
    table = motif_table(tt, pt, fm.nsites, pats.n_seqlets, influence_by_name(infl))
    plot_logo_grid("filters.png", fm.motifs, best_matches(tt), targets)  # logos.py

Run TF-MoDISco in a process of its own (a script that reads ``attributions.npz``):
modisco-lite caches its compiled numba kernels only when it can fork, which it cannot once
another Python thread (tangermeme starts tqdm's monitor thread) or numba's OpenMP threads
(memelite's Tomtom) are running; it then compiles them again on every run (about 25 s).
"""

from seqcnn.interpret.attribution import (
    METHODS,
    DeepLiftView,
    attributions,
    correct_gradients,
    deep_lift_shap,
    deeplift_view,
    interpretability_auroc,
    ism,
    logits,
    motif_mask,
    project,
    saliency,
    save_attributions,
    top_positives,
)
from seqcnn.interpret.filters import (
    FILTER_TABLE_COLUMNS,
    FilterMotifs,
    activation_pwms,
    constrained_pwms,
    filter_influence,
    filter_motifs,
    filter_table,
    filter_weights,
    influence_by_name,
    information_content,
    logo_order,
    max_activations,
    stem_geometry,
    trim_bounds,
    trimmed_motifs,
)
from seqcnn.interpret.logos import draw_logo, information_matrix, plot_logo_grid, plot_motif_logo
from seqcnn.interpret.meme import MemeMotifs, read_meme, write_meme
from seqcnn.interpret.modisco import Patterns, run_modisco, trim_span
from seqcnn.interpret.motifs import (
    MOTIF_TABLE_COLUMNS,
    TOMTOM_COLUMNS,
    best_matches,
    bh_qvalues,
    fraction_matched,
    jaspar_targets,
    motif_table,
    pearson_columns,
    tomtom,
    tomtom_jaspar,
)
from seqcnn.interpret.periodicity import (
    PERIOD_BANDS,
    SCALES,
    band_fraction,
    dominant_period,
    filter_periods,
    hydrophobicity,
    position_profile,
    spectrum,
)
from seqcnn.interpret.tracks import (
    HEADS,
    head_values,
    is_track_model,
    load_any_model,
    profile_objective,
    track_attributions,
    track_deep_lift_shap,
    track_ism,
)

__all__ = [
    "FILTER_TABLE_COLUMNS",
    "METHODS",
    "MOTIF_TABLE_COLUMNS",
    "PERIOD_BANDS",
    "SCALES",
    "band_fraction",
    "TOMTOM_COLUMNS",
    "DeepLiftView",
    "FilterMotifs",
    "HEADS",
    "MemeMotifs",
    "Patterns",
    "activation_pwms",
    "attributions",
    "best_matches",
    "bh_qvalues",
    "constrained_pwms",
    "correct_gradients",
    "deep_lift_shap",
    "deeplift_view",
    "dominant_period",
    "draw_logo",
    "filter_influence",
    "filter_motifs",
    "filter_periods",
    "filter_table",
    "filter_weights",
    "fraction_matched",
    "head_values",
    "hydrophobicity",
    "influence_by_name",
    "information_content",
    "information_matrix",
    "interpretability_auroc",
    "is_track_model",
    "ism",
    "jaspar_targets",
    "load_any_model",
    "logits",
    "logo_order",
    "max_activations",
    "motif_mask",
    "motif_table",
    "pearson_columns",
    "plot_logo_grid",
    "plot_motif_logo",
    "position_profile",
    "profile_objective",
    "project",
    "read_meme",
    "run_modisco",
    "saliency",
    "save_attributions",
    "spectrum",
    "stem_geometry",
    "top_positives",
    "tomtom",
    "tomtom_jaspar",
    "track_attributions",
    "track_deep_lift_shap",
    "track_ism",
    "trim_bounds",
    "trim_span",
    "trimmed_motifs",
    "write_meme",
]
