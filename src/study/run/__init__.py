"""Run machinery: parameters, the papermill pipeline, the recorder, the run page, the run diff
and the command line."""
