"""The stub files of the built-in exercises: ``minnet exercise start NAME`` writes one of these modules.

Each module names its exercise (``EXERCISE = "tanh"``), gives a layer, loss or function whose forward is
written out, and leaves the backward as a TODO that raises NotImplementedError.
"""
