"""The user guide, the tutorial and their images, installed as ``nanotwin_app.guide`` so that
Help > User guide and Help > Tutorial show them inside the window (``nanotwin_app.help_viewer``).
The scripts beside them (``make_figures.py``, ``make_window_figures.py``) redraw the images."""
