use regpilot_control::{Actor, Control, NewProject, Plan, ProjectView};
use serde_json::json;

use crate::args::{PlanArgs, ProjectCommand};
use crate::output::{emit, table};
use crate::CmdResult;

fn limits_text(p: &ProjectView) -> String {
    let daily = p.limits.daily_limit.map_or("unlimited".to_string(), |d| d.to_string());
    format!("{daily}/day, burst {}/s", p.limits.burst)
}

fn plan_of(args: &PlanArgs) -> Result<Plan, regpilot_control::ControlError> {
    args.plan.parse()
}

pub async fn run(control: &Control, cmd: ProjectCommand, json: bool) -> CmdResult {
    match cmd {
        ProjectCommand::Create { name, plan } => {
            let new = NewProject { name, plan: plan_of(&plan)?, daily_limit: plan.daily_limit, burst: plan.burst };
            let p = control.create_project(&Actor::cli(), new).await?;
            emit(json, &p, || {
                format!("Created project {} ({}) on the {} plan: {}\n", p.id, p.name, p.plan, limits_text(&p))
            })
        }
        ProjectCommand::List => {
            let projects = control.list_projects().await?;
            emit(json, &json!({ "projects": projects }), || {
                let rows: Vec<Vec<String>> = projects
                    .iter()
                    .map(|p| {
                        vec![p.id.clone(), p.name.clone(), p.plan.to_string(), limits_text(p), p.created_at.clone()]
                    })
                    .collect();
                table(&["ID", "NAME", "PLAN", "LIMITS", "CREATED"], &rows)
            })
        }
        ProjectCommand::SetGovernor {
            project_id,
            mode,
            enabled,
            disabled,
            check_prompts,
            no_check_prompts,
            violations,
        } => {
            let patch = regpilot_control::GovernorSettingsPatch {
                mode,
                enabled: (enabled || disabled).then_some(enabled),
                check_prompts: (check_prompts || no_check_prompts).then_some(check_prompts),
                violations,
            };
            let unchanged = patch.mode.is_none()
                && patch.enabled.is_none()
                && patch.check_prompts.is_none()
                && patch.violations.is_none();
            let g = if unchanged {
                control.governor_settings(&project_id).await?
            } else {
                control.set_governor(&Actor::cli(), &project_id, patch).await?
            };
            emit(json, &g, || super::governor::settings_text(&g))
        }
        ProjectCommand::SetPlan { project_id, plan, daily_limit, burst } => {
            let p = control.set_plan(&Actor::cli(), &project_id, plan.parse()?, daily_limit, burst).await?;
            emit(json, &p, || format!("Project {} is now on the {} plan: {}\n", p.id, p.plan, limits_text(&p)))
        }
    }
}
