"""Batch jobs (uploaded in the browser or made through the OpenAI Batch API) run by
`manage.py batch worker`, and the Files API's files."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone


def batch_dir() -> Path:
    """Where uploaded inputs, outputs and summaries live (created on first use)."""
    path = Path(settings.VAR_DIR) / "batch"
    path.mkdir(parents=True, exist_ok=True)
    return path


def public_id(prefix: str) -> str:
    return prefix + secrets.token_hex(12)


class File(models.Model):
    """A file of the OpenAI Files API (/v1/files): a batch input, or a batch's output or
    error file; visible only to the API key that owns it."""

    class Purpose(models.TextChoices):
        BATCH = "batch", "Batch input"
        BATCH_OUTPUT = "batch_output", "Batch output"

    public_id = models.CharField(max_length=40, unique=True)
    api_key = models.ForeignKey("routing.ApiKey", on_delete=models.CASCADE, related_name="files")
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    filename = models.CharField(max_length=200)
    size_bytes = models.PositiveBigIntegerField(default=0)
    path = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.public_id} {self.filename}"

    @classmethod
    def store(cls, key_id: int, purpose: str, filename: str, data: bytes) -> File:
        """Write the bytes under VAR_DIR/batch/files and record the file."""
        ident = public_id("file-")
        folder = batch_dir() / "files"
        folder.mkdir(exist_ok=True)
        path = folder / f"{ident}.jsonl"
        path.write_bytes(data)
        return cls.objects.create(
            public_id=ident,
            api_key_id=key_id,
            purpose=purpose,
            filename=filename[:200],
            size_bytes=len(data),
            path=str(path),
        )

    def remove(self) -> None:
        Path(self.path).unlink(missing_ok=True)
        self.delete()


class BatchJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.DONE, Status.FAILED, Status.CANCELLED)

    name = models.CharField(max_length=200, help_text="The uploaded file's name.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    input_path = models.CharField(max_length=500)
    output_path = models.CharField(max_length=500)
    summary_path = models.CharField(max_length=500)
    options = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    spent_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0)
    stop_reason = models.CharField(max_length=40, blank=True)
    cancel_requested = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The OpenAI Batch API's side of a job (empty for jobs uploaded in the browser).
    public_id = models.CharField(max_length=40, unique=True, null=True, blank=True)
    api_key = models.ForeignKey(
        "routing.ApiKey", null=True, blank=True, on_delete=models.CASCADE, related_name="batches"
    )
    endpoint = models.CharField(max_length=60, blank=True)
    completion_window = models.CharField(max_length=20, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    input_file = models.ForeignKey(
        File, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    output_file = models.ForeignKey(
        File, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error_file = models.ForeignKey(
        File, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"batch #{self.pk} {self.name} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.finished else 0
        return min(100, round(100 * (self.done + self.failed) / self.total))

    @property
    def badge(self) -> tuple[str, str]:
        """(css modifier, label): a finished job with failed lines never shows a plain "Done"."""
        if self.status == self.Status.DONE and self.failed:
            if not self.done:
                return "allfailed", "All lines failed"
            return "partial", f"Done · {self.failed} failed"
        return self.status, self.get_status_display()

    @property
    def rate(self) -> float | None:
        """Lines per second since the job started (None before it has finished one)."""
        if self.started_at is None or not (self.done + self.failed):
            return None
        end = self.finished_at or timezone.now()
        seconds = (end - self.started_at).total_seconds()
        return (self.done + self.failed) / seconds if seconds > 0 else None

    @property
    def eta_seconds(self) -> float | None:
        rate = self.rate
        if self.finished or rate is None or not self.total:
            return None
        return max(0, self.total - self.done - self.failed) / rate

    def delete_files(self) -> None:
        for name in (self.input_path, self.output_path, self.summary_path):
            if name:
                Path(name).unlink(missing_ok=True)

    @property
    def has_output(self) -> bool:
        return bool(self.output_path) and Path(self.output_path).is_file()

    @property
    def has_summary(self) -> bool:
        return bool(self.summary_path) and Path(self.summary_path).is_file()

    def request_cancel(self) -> None:
        """A queued job is cancelled at once; a running one stops at the worker's next tick."""
        jobs = BatchJob.objects.filter(pk=self.pk)
        jobs.filter(status=self.Status.QUEUED).update(
            status=self.Status.CANCELLED, stop_reason="cancelled", finished_at=timezone.now()
        )
        jobs.filter(status=self.Status.RUNNING).update(cancel_requested=True)
        self.refresh_from_db()

    @classmethod
    def create_queued(cls, name: str, data: bytes, options: dict[str, Any], user: Any) -> BatchJob:
        """Store the upload under VAR_DIR/batch and queue it; the worker does the rest."""
        job = cls.objects.create(name=name[:200], options=options, created_by=user)
        base = batch_dir() / f"job-{job.pk}"
        suffix = Path(name).suffix.lower()[:10] or ".txt"
        job.input_path = str(base.with_name(base.name + "-input" + suffix))
        job.output_path = str(base.with_name(base.name + "-output.jsonl"))
        job.summary_path = str(base.with_name(base.name + "-summary.json"))
        Path(job.input_path).write_bytes(data)
        job.save(update_fields=["input_path", "output_path", "summary_path"])
        return job
