from kedro.pipeline import Pipeline, node, pipeline

from retail_demo.pipelines.reporting.nodes import combine_reports, filter_region, summarise_region


def _region_report() -> Pipeline:
    return pipeline(
        [
            node(
                filter_region,
                ["sales_features", "params:region"],
                "region_sales",
                name="filter_region",
            ),
            node(summarise_region, "region_sales", "region_summary", name="summarise_region"),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    regions = [
        pipeline(
            _region_report(),
            namespace=region,
            inputs={"sales_features"},
            parameters={"params:region": f"params:{region}.region"},
            tags=["report", region],
        )
        for region in ("north", "south")
    ]
    combined = pipeline(
        [
            node(
                combine_reports,
                ["north.region_summary", "south.region_summary"],
                "final_report",
                name="combine_reports",
            )
        ]
    )
    return sum(regions, start=pipeline([])) + combined
