"""The calculator's GET form: every input lives in the URL, so a URL is a permalink.

Missing parameters take the defaults of :data:`costcalc.workload.DEFAULT_WORKLOAD`, so
``/costcalc/`` alone (or ``/costcalc/?requests=5000000``) gives a full answer. Query types
are a formset with the prefix ``t`` (``t-0-name``, ``t-0-share``, ...).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django import forms
from django.http import QueryDict

from modelpages.widgets import ModelPicker
from routing.catalog import Snapshot
from routing.engine.policies import projected

from .workload import (
    DEFAULT_WORKLOAD,
    HUNDRED,
    MAX_BUDGET_USD,
    MAX_QUERY_TYPES,
    MAX_REQUESTS,
    MAX_TOKENS,
    PROCESSING,
    Modifiers,
    QueryType,
    Workload,
    problems,
    route_field,
    routes_by_strategy,
    share_problem,
)

PREFIX = "t"


def _text(mode: str = "decimal") -> forms.NumberInput:
    """Number inputs (the form is ``novalidate``: the server, not the browser, says what is
    wrong, next to the field)."""
    step = "1" if mode == "numeric" else "any"
    attrs = {"inputmode": mode, "autocomplete": "off", "step": step, "class": "cc-num"}
    return forms.NumberInput(attrs=attrs)


PERCENT: dict[str, Any] = {
    "min_value": Decimal(0),
    "max_value": HUNDRED,
    "max_digits": 9,
    "decimal_places": 4,
    "widget": _text(),
}
WHOLE: dict[str, Any] = {"min_value": 0, "max_value": MAX_TOKENS, "widget": _text("numeric")}
NAME = re.compile(r"^[a-z0-9][a-z0-9 _.-]*$")


class QueryTypeForm(forms.Form):
    name = forms.CharField(
        label="Query type", max_length=40, widget=forms.TextInput(attrs={"size": 12})
    )
    share = forms.DecimalField(label="Share %", **PERCENT)
    input_tokens = forms.IntegerField(label="Avg input tokens", **WHOLE)
    output_tokens = forms.IntegerField(label="Avg output tokens", **WHOLE)

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip().lower()
        if not NAME.match(name):
            raise forms.ValidationError("Use letters, digits, spaces, '-', '_' or '.'.")
        return name


class BaseQueryTypes(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        types = self.query_types()
        names = [t.name for t in types]
        if len(set(names)) != len(names):
            raise forms.ValidationError("Each query type may appear once.")
        if (problem := share_problem(types)) is not None:
            raise forms.ValidationError(problem)

    def query_types(self) -> tuple[QueryType, ...]:
        return tuple(
            QueryType(d["name"], d["share"], d["input_tokens"], d["output_tokens"])
            for d in (f.cleaned_data for f in self.forms)
            if d
        )


QueryTypeFormSet = forms.formset_factory(
    QueryTypeForm,
    formset=BaseQueryTypes,
    extra=0,
    max_num=MAX_QUERY_TYPES,
    validate_max=True,
    absolute_max=MAX_QUERY_TYPES,
)


def _with_route_fields(
    fields: dict[str, forms.Field], routes: dict[str, list[str]]
) -> dict[str, forms.Field]:
    """The form's fields with a route picker per projected strategy after the budget."""
    ordered: dict[str, forms.Field] = {}
    for name, field in fields.items():
        ordered[name] = field
        if name != "budget_usd":
            continue
        for strategy in projected():
            label = strategy.projection.field_label if strategy.projection else strategy.label
            choices = [(slug, slug) for slug in routes.get(strategy.name, [])]
            ordered[route_field(strategy.name)] = forms.ChoiceField(label=label, choices=choices)
    return ordered


class CalculatorForm(forms.Form):
    requests = forms.IntegerField(
        label="Requests per month", min_value=1, max_value=MAX_REQUESTS, widget=_text("numeric")
    )
    baseline = forms.CharField(
        label="Current model (baseline)",
        max_length=250,
        widget=ModelPicker(),
    )
    budget_usd = forms.DecimalField(
        label="Budget per request ($)",
        min_value=Decimal("0.000001"),
        max_value=MAX_BUDGET_USD,
        max_digits=12,
        decimal_places=6,
        widget=_text(),
    )
    cache_hit_rate = forms.DecimalField(label="Cache hit rate %", **PERCENT)
    fallback_rate = forms.DecimalField(label="Fallback rate %", **PERCENT)
    processing = forms.ChoiceField(
        label="Processing", choices=[(k, k.capitalize()) for k in PROCESSING]
    )
    baseline_modifiers = forms.ChoiceField(
        label="Modifiers on the baseline",
        choices=[("same", "Same as the policies"), ("none", "None (list price)")],
    )
    quality_target = forms.DecimalField(
        label="Keep quality %",
        required=False,
        min_value=Decimal(0),
        max_value=HUNDRED,
        decimal_places=1,
        help_text="Share of the weak→strong quality gap to keep: the operating point it needs.",
        widget=_text("decimal"),
    )
    prompts = forms.RegexField(
        label="Prompt set",
        regex=r"^(samples|[0-9a-f]{16})$",
        required=False,
        widget=forms.HiddenInput,
    )
    traffic_from = forms.DateField(
        label="Traffic from", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    traffic_to = forms.DateField(
        label="Traffic to", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data: QueryDict, snapshot: Snapshot) -> None:
        super().__init__(bind(data))
        self.snapshot = snapshot
        self.types: BaseQueryTypes = QueryTypeFormSet(bind(data), prefix=PREFIX)  # type: ignore[assignment]
        self.fields = _with_route_fields(self.fields, routes_by_strategy(snapshot))

    @property
    def route_fields(self) -> list[forms.BoundField]:
        """The route picker of every projected strategy, in registry order."""
        return [self[route_field(strategy.name)] for strategy in projected()]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("traffic_from"), data.get("traffic_to")
        for name, day in (("traffic_from", start), ("traffic_to", end)):
            if day and not 2000 <= day.year <= 2100:
                self.add_error(name, "Pick a date between 2000 and 2100.")
                return data
        if bool(start) != bool(end):
            self.add_error("traffic_to" if start else "traffic_from", "Give both dates.")
        elif start and end and start > end:
            self.add_error("traffic_to", "Must be on or after 'Traffic from'.")
        return data

    def full_valid(self) -> bool:
        """The form, the query types and the catalog checks all pass."""
        ok = self.is_valid() & self.types.is_valid()
        if not ok:
            return False
        for name, message in problems(self.workload(), self.snapshot).items():
            self.add_error(name, message)
        return not self.errors

    def workload(self) -> Workload:
        d = self.cleaned_data
        modifiers = Modifiers(
            cache_hit_rate=d["cache_hit_rate"] / HUNDRED,
            fallback_rate=d["fallback_rate"] / HUNDRED,
            processing=d["processing"],
            on_baseline=d["baseline_modifiers"] == "same",
        )
        return Workload(
            requests=d["requests"],
            types=self.types.query_types(),
            baseline=d["baseline"].strip(),
            budget_usd=d["budget_usd"],
            routes={s.name: d[route_field(s.name)] for s in projected()},
            modifiers=modifiers,
        )

    def row_errors(self) -> list[list[str]]:
        """Per query-type row: its messages, each naming the row and the field."""
        rows = []
        for i, form in enumerate(self.types.forms):
            rows.append(
                [
                    f"Query type row {i + 1}, {form.fields[name].label if name in form.fields else 'row'}: {e}"
                    for name, errors in form.errors.items()
                    for e in errors
                ]
            )
        return rows

    def error_messages(self) -> dict[str, list[str]]:
        """Field name -> messages, each naming the field by its label."""
        out: dict[str, list[str]] = {}
        for name, errors in self.errors.items():
            label = self.fields[name].label if name in self.fields else "Form"
            out[name] = [f"{label}: {e}" for e in errors]
        for i, messages in enumerate(self.row_errors()):
            if messages:
                out[f"{PREFIX}-{i}"] = messages
        if self.types.is_bound and self.types.non_form_errors():
            out["types"] = [f"Query types: {e}" for e in self.types.non_form_errors()]
        return out


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}"


def defaults() -> dict[str, str]:
    w = DEFAULT_WORKLOAD
    data = {
        "requests": str(w.requests),
        "baseline": w.baseline,
        "budget_usd": _number(w.budget_usd),
        **{route_field(s.name): w.route(s.name) for s in projected()},
        "cache_hit_rate": "0",
        "fallback_rate": "0",
        "processing": "standard",
        "baseline_modifiers": "same",
        f"{PREFIX}-TOTAL_FORMS": str(len(w.types)),
        f"{PREFIX}-INITIAL_FORMS": "0",
    }
    for i, t in enumerate(w.types):
        data[f"{PREFIX}-{i}-name"] = t.name
        data[f"{PREFIX}-{i}-share"] = _number(t.share)
        data[f"{PREFIX}-{i}-input_tokens"] = str(t.input_tokens)
        data[f"{PREFIX}-{i}-output_tokens"] = str(t.output_tokens)
    return data


def bind(query: QueryDict) -> QueryDict:
    """The query over the defaults; the default query types only when none are given."""
    data = QueryDict(mutable=True)
    given_types = f"{PREFIX}-TOTAL_FORMS" in query
    for key, value in defaults().items():
        if not (given_types and key.startswith(f"{PREFIX}-") and key != f"{PREFIX}-INITIAL_FORMS"):
            data[key] = value
    for key in query:
        data[key] = str(query.get(key, ""))
    return data
