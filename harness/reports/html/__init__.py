"""The HTML report (`harness report RUN [RUN ...] --out report.html`): a view model of plain
records (model.py), built from plain inputs through the scorer (build.py) or from a run record
(from_record.py), rendered by Jinja2 into one self-contained page (render.py, templates/)."""
