"""/batch/: upload a file (which only queues a job), watch it, read and download what it wrote.

No view runs a batch: `manage.py batch worker` does. The progress partial is polled by htmx
every second and renders without its trigger once the job is finished, which stops the polling.
The upload is checked (route, model, every line) and priced before anything is queued.
"""

from __future__ import annotations

from pathlib import Path

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import staff_required
from batch import checks, results
from batch.forms import UploadForm
from batch.models import BatchJob
from routing import catalog

DOWNLOADS = {"output": "output_path", "summary": "summary_path", "input": "input_path"}
RECENT = 30
LINE_FILTERS = ("", "ok", "failed")


def _form(request: HttpRequest) -> UploadForm:
    return UploadForm(request.POST or None, request.FILES or None, snapshot=catalog.current_sync())


@staff_required
@require_http_methods(["GET", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        job = BatchJob.create_queued(
            upload.name, form.data_bytes, form.options().as_json(), request.user
        )
        return redirect("batch:job", pk=job.pk)
    jobs = BatchJob.objects.select_related("api_key")[:RECENT]
    status = 400 if form.errors else 200
    return render(request, "batch/index.html", {"form": form, "jobs": jobs}, status=status)


@staff_required
@require_POST
def estimate(request: HttpRequest) -> HttpResponse:
    """htmx partial: what the chosen file and options would cost, or why they cannot run."""
    form = _form(request)
    context: dict[str, object] = {"form": form}
    if form.is_valid() and form.parsed is not None:
        options = form.options()
        context["estimate"] = checks.estimate(form.parsed, options, form.snapshot)
        context["check"] = checks.check(form.parsed, options, form.snapshot)
    return render(request, "batch/_estimate.html", context)


@staff_required
@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(BatchJob, pk=pk)
    show = request.GET.get("lines", "")
    show = show if show in LINE_FILTERS else ""
    page = int(p) if (p := request.GET.get("page", "1")).isdigit() and int(p) > 0 else 1
    lines, count = results.lines(Path(job.input_path), Path(job.output_path), show, page)
    context = {
        "job": job,
        "lines": lines,
        "line_count": count,
        "show": show,
        "page": page,
        "next_page": page + 1 if page * results.PAGE < count else None,
        "failures": results.failures(Path(job.output_path)) if job.failed else [],
    }
    return render(request, "batch/job.html", context)


@staff_required
@require_GET
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx partial: the progress bar and counters (polls itself until the job is finished)."""
    job = get_object_or_404(BatchJob, pk=pk)
    return render(request, "batch/_progress.html", {"job": job})


@staff_required
@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(BatchJob, pk=pk)
    job.request_cancel()
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "batch/_progress.html", {"job": job})
    return redirect("batch:job", pk=job.pk)


@staff_required
@require_POST
def job_retry(request: HttpRequest, pk: int) -> HttpResponse:
    """A new job of this job's failed lines (with its options); the old job stays as it was."""
    job = get_object_or_404(BatchJob, pk=pk)
    items = results.failed_requests(Path(job.input_path), Path(job.output_path))
    if not job.finished or not items:
        messages.error(request, "Nothing to retry: the job is running or no request line failed.")
        return redirect("batch:job", pk=job.pk)
    name = f"retry of #{job.pk}: {job.name}"[:190] + ".jsonl"
    retry = BatchJob.create_queued(name, results.retry_input(items), job.options, request.user)
    return redirect("batch:job", pk=retry.pk)


@staff_required
@require_POST
def job_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a finished job and its files (a running one must be cancelled first)."""
    job = get_object_or_404(BatchJob, pk=pk)
    if not job.finished:
        messages.error(request, "Cancel the job first: a running or queued job cannot be deleted.")
        return redirect("batch:job", pk=job.pk)
    job.delete_files()
    job.delete()
    messages.success(request, f"Deleted batch #{pk}.")
    return redirect("batch:index")


@staff_required
@require_GET
def job_download(request: HttpRequest, pk: int, kind: str) -> FileResponse:
    job = get_object_or_404(BatchJob, pk=pk)
    if kind not in DOWNLOADS:
        raise Http404("No such file.")
    path = Path(getattr(job, DOWNLOADS[kind]))
    if not path.is_file():
        raise Http404("Not written yet.")
    name = f"batch-{job.pk}-{kind}{path.suffix}"
    return FileResponse(path.open("rb"), as_attachment=True, filename=name)
