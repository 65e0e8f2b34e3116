# ---------------------------------------------------------------- dashboard
#
# One CloudWatch dashboard: what the functions report through EMF (metrics.json lists
# every metric they emit, with its dimensions and the widget that shows it; a Rust test
# keeps that file equal to the code), their errors, and the depth of the DLQs.

locals {
  metric_catalog = jsondecode(file("${path.module}/metrics.json"))

  # The widgets of EMF metrics, in dashboard order. Every metric in metrics.json names
  # one of them (checked by the dashboard's precondition).
  emf_widgets = {
    sweep_actions        = { order = 0, title = "Sweeper: images expired and archived (planned, and done when not a dry run)" }
    bytes_freed          = { order = 1, title = "Sweeper: bytes freed" }
    protected            = { order = 2, title = "Sweeper: images protected, by reason" }
    sweep_problems       = { order = 3, title = "Sweeper: safety cap tripped, refused or skipped actions, stopped sweeps" }
    images_swept         = { order = 4, title = "Sweeper: images in the swept repositories" }
    findings             = { order = 5, title = "Scan forwarder: findings" }
    findings_by_severity = { order = 6, title = "Scan forwarder: findings forwarded and suppressed, by severity" }
  }

  # One line per metric and combination of dimension values, e.g.
  # ["EcrJanitor", "ImagesExpired", "DryRun", "false", "Function", "lifecycle-sweeper", {label = ...}].
  emf_lines = {
    # concat(...) joins the per-metric lists of lines; flatten would flatten the lines.
    for widget in keys(local.emf_widgets) : widget => concat([], [
      for metric in local.metric_catalog.metrics : [
        # The name leads the product so that it always has two lists or more.
        for combination in setproduct(concat([[metric.name]], [for dimension in keys(metric.dimensions) : metric.dimensions[dimension]])...) :
        concat(
          [local.metric_catalog.namespace, metric.name],
          flatten([for index, dimension in keys(metric.dimensions) : [dimension, combination[index + 1]]]),
          [{
            label = trimspace(join(" ", concat([metric.name], [
              for index, dimension in keys(metric.dimensions) : "${dimension}=${combination[index + 1]}" if dimension != "Function"
            ])))
          }],
        )
      ] if metric.widget == widget
    ]...)
  }

  metric_widgets = concat(
    [
      for widget, spec in local.emf_widgets : {
        order = spec.order
        properties = {
          title   = spec.title
          metrics = local.emf_lines[widget]
          stat    = "Sum"
        }
      }
    ],
    [
      {
        order = length(local.emf_widgets)
        properties = {
          title = "Function errors (AWS/Lambda Errors)"
          metrics = [
            for key, function in aws_lambda_function.this :
            ["AWS/Lambda", "Errors", "FunctionName", function.function_name, { label = key }]
          ]
          stat = "Sum"
        }
      },
      {
        order = length(local.emf_widgets) + 1
        properties = {
          title = "Dead-letter queues: messages waiting (AWS/SQS ApproximateNumberOfMessagesVisible)"
          metrics = [
            for key, queue in local.queues :
            ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", queue.name, { label = key }]
          ]
          stat = "Maximum"
        }
      },
    ],
  )

  dashboard_body = {
    widgets = [
      for widget in local.metric_widgets : {
        type   = "metric"
        x      = (widget.order % 2) * 12
        y      = floor(widget.order / 2) * 6
        width  = 12
        height = 6
        properties = merge(widget.properties, {
          region = local.region
          view   = "timeSeries"
          period = 300
        })
      }
    ]
  }
}

resource "aws_cloudwatch_dashboard" "janitor" {
  dashboard_name = var.name_prefix
  dashboard_body = jsonencode(local.dashboard_body)

  lifecycle {
    precondition {
      condition     = alltrue([for metric in local.metric_catalog.metrics : contains(keys(local.emf_widgets), metric.widget)])
      error_message = "Every metric in metrics.json must name a widget of dashboard.tf (emf_widgets)."
    }
  }
}
