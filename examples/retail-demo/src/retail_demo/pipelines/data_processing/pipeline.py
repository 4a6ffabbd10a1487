from kedro.pipeline import Pipeline, node, pipeline

from retail_demo.pipelines.data_processing.nodes import (
    add_features,
    aggregate_daily,
    check_quality,
    clean_sales,
)


def create_pipeline(**kwargs) -> Pipeline:
    return pipeline(
        [
            node(
                check_quality,
                ["sales_raw", "params:quality"],
                "quality_report",
                name="check_quality",
            ),
            node(clean_sales, "sales_raw", "sales_clean", name="clean_sales", tags=["cleaning"]),
            node(
                add_features,
                ["sales_clean", "params:features"],
                "sales_features",
                name="add_features",
                tags=["features"],
            ),
            node(aggregate_daily, "sales_features", "daily_sales", name="aggregate_daily"),
        ]
    )
