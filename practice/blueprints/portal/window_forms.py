"""Forms of the processing window's calendar in the portal."""

from __future__ import annotations

from wtforms import HiddenField, StringField
from wtforms.validators import Optional

from practice.blueprints.forms import Form


class CalendarTitleForm(Form):
    """A partner's own title for their window events; empty means the neutral default."""

    # Length is checked by the service (stripped first), which names the limit.
    title = StringField("Title in my calendar", validators=[Optional()])
    # The window page the form was on, to go back to; the home page otherwise.
    back = HiddenField()
