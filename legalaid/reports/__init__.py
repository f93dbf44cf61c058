"""Administration: the consultation log, statistics, exports, lawyer performance and reports."""
