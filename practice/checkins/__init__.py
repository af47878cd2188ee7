"""Weekly check-ins: the questions (`questions`), worded for each partner's repair role."""
