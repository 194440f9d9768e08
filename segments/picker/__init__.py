"""The segment picker: choose a channel's segments to include or exclude.

One component, used unchanged by the audience form and the campaign form. It is a Django form
field (`SegmentPickerField`, field.py) whose widget (widget.py) renders
`templates/segments/picker.html` from a `PickerState` (state.py), plus a search endpoint
(`segments:picker_search`, views.py) and `static/js/picker.js`. Its reads go through
segments/selectors.py and its rules through `segments.selection.segment_selection_check`.

Embedding it in a form
----------------------

    from segments.picker import PickerValue, SegmentPickerField, ShowAsTypedMixin

    class CampaignForm(ShowAsTypedMixin, forms.Form):
        segments = SegmentPickerField(label="Segments")

        def __init__(self, *args, channel, **kwargs):
            super().__init__(*args, **kwargs)
            self.fields["segments"].configure(
                channel=channel,                    # whose segments; re-render for another one
                require_inclusion=False,            # audiences say True
                keep_inactive_ids=existing_ids,     # inactive segments already saved: allowed
                base_include_ids=audience_inc_ids,  # optional: what came pre-filled ...
                base_exclude_ids=audience_exc_ids,  # ... rows say "pre-filled/added/removed";
                                                    # None = keep the base posted back
                labels={"base": "from audience"},   # optional wording of those badges
                marks={segment_id: ("css-class", "Label")},  # optional extra badge per segment
            )

    # pre-fill: initial={"segments": PickerValue.from_ids(include=[1, 2], exclude=[3])}
    # template (the page loads the assets in {% block head %}):
    #   <link rel="stylesheet" href="{% static 'css/picker.css' %}">
    #   <script src="{% static 'js/picker.js' %}" defer></script>
    #   <fieldset><legend>Segments</legend>
    #     {% for error in form.segments.errors %}<p class="error">{{ error }}</p>{% endfor %}
    #     {{ form.segments }}
    #   </fieldset>

Inputs (POST/GET names, `<name>` being the field's html name, e.g. "segments"):
    <name>-include / <name>-exclude   segment ids, repeated (checkboxes)
    <name>-base_include / -base_exclude  the pre-filled ids (hidden; travel with searches)
    <name>-q                          the search text
    <name>-search                     the "Search" submit button (no JavaScript)
    <name>-limit                      the "Show more" submit button (no JavaScript)
`PickerInput` (inputs.py) reads and rewrites the ids of a posted QueryDict, for a form that
changes the picker's contents before binding (another channel or audience chosen).

Output: `form.cleaned_data["segments"]` is a `PickerValue` with `include` and `exclude` lists of
`Segment` (checked by `segment_selection_check`: all of the channel, none both included and
excluded, no inactive segment newly added, at least one inclusion when `require_inclusion`),
`include_ids`/`exclude_ids`, and `added_include`/`added_exclude`/`removed_include`/
`removed_exclude` against the base ids. Unknown or foreign ids are never rendered.

No-JavaScript search: the "Search" and "Show more" buttons submit the whole form back to the same
URL. The view asks `picker_search_requested(form)` and, if so, re-renders the bound form with
`form.show_as_typed()` (ShowAsTypedMixin): not validated, so nothing typed is lost. A form that
embeds the picker should put a hidden default submit button first (see audiences/form.html) so
that Enter in another field saves rather than searches.

Events (dispatched on the `.picker` element, bubbling):
    picker:change   detail {name, include: [ids], exclude: [ids]} after any mark changes.
The picker listens to nothing: to switch channel or pre-fill it, re-render the form region on
the server (htmx) with the new `configure(...)`; picker.js works by event delegation, so swapped
pickers need no set-up.
"""

from segments.picker.field import (
    PickerValue,
    SegmentPickerField,
    ShowAsTypedMixin,
    picker_search_requested,
)
from segments.picker.inputs import PickerInput
from segments.picker.state import PickerState, picker_state, picker_state_from_query
from segments.picker.widget import SegmentPickerWidget

__all__ = [
    "PickerInput",
    "PickerState",
    "PickerValue",
    "SegmentPickerField",
    "SegmentPickerWidget",
    "ShowAsTypedMixin",
    "picker_search_requested",
    "picker_state",
    "picker_state_from_query",
]
