from django import template
from django.utils.html import format_html

from access_audience.submissions import FIELD, new_token

register = template.Library()


@register.simple_tag
def submission_token() -> str:
    """A create form's one-time token: sending the form twice creates one object."""
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, new_token())
