"""Project pipelines."""

from kedro.pipeline import Pipeline

from retail_demo.pipelines import data_processing, forecasting, reporting


def register_pipelines() -> dict[str, Pipeline]:
    processing = data_processing.create_pipeline()
    reports = reporting.create_pipeline()
    forecast = forecasting.create_pipeline()
    return {
        "data_processing": processing,
        "reporting": reports,
        "forecasting": forecast,
        "__default__": processing + reports + forecast,
    }
