"""planner: county compulsory-education quality-balance planning (义务教育优质均衡发展).

Load a county (:func:`planner.loader.load_county`), assess it against the national
standard, and optimise teacher rotations, school places and catchments together.
"""

__version__ = "0.1.0"
