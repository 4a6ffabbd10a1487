from kedro.pipeline import Pipeline, node, pipeline

from retail_demo.pipelines.forecasting.nodes import simulate_forecast


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                simulate_forecast,
                ["daily_sales", "params:simulation"],
                "forecast",
                name="simulate_forecast",
                tags=["heavy"],
            )
        ]
    )
