"""What is in the beaker: ions, activities, compounds, recipes, solutions and speciation.

No pandas, no recordings."""
