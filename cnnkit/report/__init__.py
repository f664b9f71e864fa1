"""Run reports: `write_report(run_dir)` writes RUN_DIR/report.html, one self-contained page per training run
(run_report.py), from the run's data (run_data.py), its figures (figures.py) and small HTML pieces (html.py);
segmentation, detection and diffusion runs have their own `*_data.py`, `*_figures.py` and `*_report.py`.
"""

from cnnkit.report.run_report import write_report

__all__ = ["write_report"]
