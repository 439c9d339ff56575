"""The staff desks' lists: keyset pages over indexed segments, counts by SQL ``GROUP BY``.

A desk's list is an ordered sequence of *segments* (e.g. the coordinator's queue: the
cases in triage by arrival, then the overdue cases by due date, then the rest); each
segment is one range of one index. A page of 50 rows is read from the cursor's segment
onward with one bounded statement per segment, so a page costs the same whether the
table holds a hundred cases or a million (docs/operations.md, "Pagination").
"""
