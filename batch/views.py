"""/batch/: upload a file (which only queues a job), watch it, download what it wrote.

No view runs a batch: `manage.py batch worker` does. The progress partial is polled by htmx
every second and renders without its trigger once the job is finished, which stops the polling.
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from batch.forms import UploadForm
from batch.models import BatchJob

DOWNLOADS = {"output": "output_path", "summary": "summary_path", "input": "input_path"}
RECENT = 30


@staff_member_required
@require_http_methods(["GET", "POST"])
def index(request: HttpRequest) -> HttpResponse:
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        job = BatchJob.create_queued(
            upload.name, form.data_bytes, form.options().as_json(), request.user
        )
        return redirect("batch:job", pk=job.pk)
    jobs = BatchJob.objects.select_related("api_key")[:RECENT]
    status = 400 if form.errors else 200
    return render(request, "batch/index.html", {"form": form, "jobs": jobs}, status=status)


@staff_member_required
@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(BatchJob, pk=pk)
    return render(request, "batch/job.html", {"job": job})


@staff_member_required
@require_GET
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx partial: the progress bar and counters (polls itself until the job is finished)."""
    job = get_object_or_404(BatchJob, pk=pk)
    return render(request, "batch/_progress.html", {"job": job})


@staff_member_required
@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(BatchJob, pk=pk)
    job.request_cancel()
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "batch/_progress.html", {"job": job})
    return redirect("batch:job", pk=job.pk)


@staff_member_required
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
