"""Files a citizen chose on a form that was sent back with errors, kept until the next try."""
