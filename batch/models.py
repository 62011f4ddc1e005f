"""A batch job uploaded in the browser and run by `manage.py batch worker`."""

from __future__ import annotations

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
