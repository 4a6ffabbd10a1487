from retail_demo.pipelines.forecasting.pipeline import create_pipeline

__all__ = ["create_pipeline"]
