"""The list of hot ops, by family. fastnn.ops implements each natively and
fastnn.reference with numpy, under the same name and signature; show_config()
prints this table and the twin tests walk it."""

KERNELS = {
    "matmul": ["gemm"],
    "dense": ["dense_forward", "dense_backward"],
    "activations": [
        f"{name}{suffix}"
        for name in ("identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu",
                     "softmax", "log_softmax")
        for suffix in ("", "_backward")
    ],
    "dropout": ["dropout_forward", "dropout_backward"],
    "conv": ["im2col", "col2im", "conv2d_forward", "conv2d_backward", "conv2d_pooled_backward"],
    "pool": ["maxpool2d_forward", "maxpool2d_backward", "avgpool2d_forward",
             "avgpool2d_backward", "global_avgpool_forward", "global_avgpool_backward",
             "time_avgpool_forward", "time_avgpool_backward"],
    "batchnorm": ["batchnorm_forward", "batchnorm_backward"],
    "layernorm": ["layernorm_forward", "layernorm_backward"],
    "residual": ["residual_add"],
    "recurrent": ["recurrent_forward", "recurrent_backward"],
    "embedding": ["embedding_forward", "embedding_backward"],
    "losses": ["mse", "softmax_cross_entropy", "binary_cross_entropy"],
    "optimizers": ["sgd_update", "adam_update", "adamw_update", "rmsprop_update",
                   "clip_grad_norm"],
}
