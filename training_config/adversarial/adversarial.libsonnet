// The adversarial training callback (SMART, MT-DNN's --adv_train) with MT-DNN's defaults.
// See docs/adversarial.md for every key. Use: lib.experiment(..., callbacks=[adv.callback()]).
// adv.r3f_callback(): the same callback in R3F mode (random noise, no ascent step, ~2x a plain
// step instead of SMART's ~2.7x), with the paper's defaults.
{
  callback(
    alpha=1.0,
    k=1,
    step_size=1e-3,
    noise_var=1e-5,
    epsilon=1.0,
    norm='inf',
    norm_level='token',
    bregman_mu=0.0,
  ):: {
    type: 'mtdnn_adversarial_training',
    adv_alpha: alpha,
    adv_k: k,
    adv_step_size: step_size,
    adv_noise_var: noise_var,
    adv_epsilon: epsilon,
    adv_norm: norm,
    adv_norm_level: norm_level,
    bregman_mu: bregman_mu,
  },
  r3f_callback(
    alpha=1.0,
    noise_type='normal',
    sigma=1e-5,
    bregman_mu=0.0,
  ):: {
    type: 'mtdnn_adversarial_training',
    method: 'r3f',
    adv_alpha: alpha,
    r3f_noise_type: noise_type,
    r3f_sigma: sigma,
    bregman_mu: bregman_mu,
  },
}
