"""fastnn in scikit-learn: fastnn.sklearn.MLPClassifier (scikit-learn's parameters) in
a Pipeline with a StandardScaler, tuned by GridSearchCV on the embedded digits.

    python examples/sklearn_pipeline.py [--quick]
"""

import argparse
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from fastnn.datasets import load_digits
from fastnn.sklearn import MLPClassifier

args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
args.add_argument("--quick", action="store_true", help="a smaller grid, fewer iterations")
args = args.parse_args()
if args.quick:  # 30 iterations stop before convergence, on purpose
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

X, y = load_digits()
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0,
                                                    stratify=y)
pipe = make_pipeline(StandardScaler(),
                     MLPClassifier(max_iter=30 if args.quick else 200, random_state=0))
grid = {"mlpclassifier__hidden_layer_sizes": [(32,), (64,)],
        "mlpclassifier__alpha": [1e-4] if args.quick else [1e-4, 1e-2]}
search = GridSearchCV(pipe, grid, cv=3, n_jobs=1).fit(X_train, y_train)
print("best parameters:", search.best_params_)
print(f"cross-validated accuracy {search.best_score_:.4f}, "
      f"test accuracy {search.score(X_test, y_test):.4f}")
