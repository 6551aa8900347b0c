"""ipywidgets editor of a :class:`hierwbc.hierarchy.Hierarchy` (JupyterLab)."""
